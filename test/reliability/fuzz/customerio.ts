// Requests for the Customer.io routes: the Track API and the campaign webhooks.
import { AUDIENCES, SECRETS, cioAuth } from '../setup.ts';
import {
  HOSTILE_NUMBERS,
  NESTING_DEPTHS,
  ODD_STRINGS,
  bigArray,
  chance,
  filler,
  int,
  jsonWith,
  nested,
  pick,
  protoObject,
  raw,
} from './hostile.ts';
import type { FuzzRequest, Gen } from './request.ts';
import { UTF8_MARKER, finish, messageKey, userKey } from './request.ts';

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Odd identifiers for a path segment, already URL-encoded. */
const ODD_PATH_IDS = [
  'cio_0123456789',
  'a%40',
  '%40',
  '%ff',
  '%00',
  '__proto__',
  'constructor',
  '%2F..%2F..',
  encodeURIComponent('ü😀\u202e'),
  encodeURIComponent('x'.repeat(2_000)),
  encodeURIComponent('not an email@'),
  '%E0%A4%A',
] as const;

/** A hostile value for one field of a JSON body: a number, nesting, prototype keys, a huge array, an odd string. */
function hostileField(g: Gen, fields: readonly string[]): { name: string; text: string; shape: string } {
  const name = pick(g.rand, fields);
  const kind = pick(g.rand, [
    'number',
    'nesting',
    'proto',
    'array-10k',
    'odd-string',
    'wrong-type',
    'oversize',
  ]);
  switch (kind) {
    case 'number': {
      const value = pick(g.rand, HOSTILE_NUMBERS);
      return { name, text: value, shape: `number:${name}=${value}` };
    }
    case 'nesting': {
      const depth = pick(g.rand, NESTING_DEPTHS);
      const shape = chance(g.rand, 0.5) ? 'object' : 'array';
      return { name, text: nested(depth, shape), shape: `nesting:${name}:${depth}:${shape}` };
    }
    case 'proto':
      return { name, text: protoObject(), shape: `proto-keys:${name}` };
    case 'array-10k':
      return { name, text: bigArray(10_000), shape: `array-10k:${name}` };
    case 'odd-string': {
      const value = pick(g.rand, ODD_STRINGS);
      return { name, text: value, shape: `odd-string:${name}=${value}` };
    }
    case 'wrong-type': {
      const value = pick(g.rand, ['{}', '[]', 'true', 'null', '"x"', '42']);
      return { name, text: value, shape: `wrong-type:${name}=${value}` };
    }
    default:
      return { name, text: JSON.stringify(filler(int(g.rand, 33_000, 50_000))), shape: `oversize:${name}` };
  }
}

/** Sets `field` (a dotted path into `body`) to a raw placeholder; returns the JSON text with `text` there. */
function splice(body: Record<string, unknown>, field: string, text: string): string {
  const parts = field.split('.');
  let at = body;
  for (const part of parts.slice(0, -1)) {
    if (typeof at[part] !== 'object' || at[part] === null) at[part] = {};
    at = at[part] as Record<string, unknown>;
  }
  at[parts.at(-1)!] = raw(0);
  return jsonWith(body, [text]);
}

export function cioRequest(g: Gen): FuzzRequest {
  const rightAuth = chance(g.rand, 0.9);
  const authVariant = rightAuth
    ? undefined
    : pick(g.rand, ['missing', 'wrong-site', 'wrong-key', 'bearer', 'garbage']);
  const headers: Record<string, string> = {
    none: { authorization: cioAuth() },
    missing: {},
    'wrong-site': { authorization: cioAuth('other-site') },
    'wrong-key': { authorization: cioAuth(SECRETS.cioSiteId, 'nope') },
    bearer: { authorization: `Bearer ${SECRETS.cioApiKey}` },
    garbage: { authorization: 'Basic %%%' },
  }[authVariant ?? 'none']!;
  const kind = pick(g.rand, ['put', 'put', 'event', 'event', 'anon', 'delete']);
  const oddPath = chance(g.rand, 0.08) ? pick(g.rand, ODD_PATH_IDS) : undefined;
  const hostile = chance(g.rand, 0.5);
  const shapes: (string | undefined)[] = [
    authVariant && `auth:${authVariant}`,
    oddPath && `path:${oddPath.slice(0, 40)}`,
  ];
  if (kind === 'delete') {
    const who = chance(g.rand, 0.7) ? `del-${int(g.rand, 0, 50)}` : `del-${int(g.rand, 0, 50)}%40example.com`;
    const withType = chance(g.rand, 0.5);
    return {
      n: g.n,
      shape: ['DELETE /api/v1/customers/:id', withType ? 'json-no-body' : 'no-body', ...shapes]
        .filter(Boolean)
        .join('/'),
      method: 'DELETE',
      // An odd id to delete is prefixed so that it never names a person the fuzz's messages create
      // (a message with userId "\u0000" would otherwise rightly leave the log with them).
      path: `/api/v1/customers/${oddPath === undefined ? who : `gone-${oddPath}`}`,
      headers: { ...headers, ...(withType ? { 'content-type': 'application/json' } : {}) },
      tracked: [],
      valid: rightAuth && oddPath === undefined,
    };
  }
  let body: Record<string, unknown>;
  let path: string;
  let route: string;
  let tracked: string | undefined;
  let fields: string[];
  if (kind === 'put') {
    const id = g.id('cu');
    route = 'PUT /api/v1/customers/:id';
    path = `/api/v1/customers/${oddPath ?? id}`;
    body = {
      email: `${id}@example.com`,
      created_at: nowSeconds() - int(g.rand, 0, 86_400),
      plan: 'gold',
      note: UTF8_MARKER,
      ...(chance(g.rand, 0.3) ? { unsubscribed: chance(g.rand, 0.5) } : {}),
      ...(chance(g.rand, 0.5) ? { _timestamp: nowSeconds() } : {}),
    };
    tracked = oddPath === undefined ? userKey('cio', id, 'identify', null) : undefined;
    fields = ['_timestamp', 'created_at', 'email', 'id', 'unsubscribed', 'deep', 'plan'];
  } else {
    const id = g.id('ce');
    const anonymous = kind === 'anon';
    route = anonymous ? 'POST /api/v1/events' : 'POST /api/v1/customers/:id/events';
    path = anonymous
      ? '/api/v1/events'
      : `/api/v1/customers/${oddPath ?? (chance(g.rand, 0.8) ? `fz-u-${int(g.rand, 0, 299)}` : `fz-u-${int(g.rand, 0, 299)}%40example.com`)}/events`;
    body = {
      name: pick(g.rand, ['Product Added', 'Order Completed', 'Product Viewed']),
      id,
      ...(chance(g.rand, 0.5) ? { timestamp: nowSeconds() - int(g.rand, 0, 3_600) } : {}),
      ...(anonymous ? { anonymous_id: `fz-a-${int(g.rand, 0, 299)}` } : {}),
      ...(chance(g.rand, 0.1) ? { type: 'page' } : {}),
      data: { price: int(g.rand, 1, 200), revenue: int(g.rand, 1, 300), note: UTF8_MARKER },
    };
    tracked = oddPath === undefined || anonymous ? messageKey('cio', id) : undefined;
    fields = [
      'timestamp',
      'data.revenue',
      'data.price',
      'data.deep',
      'name',
      'id',
      'anonymous_id',
      'type',
      'data',
    ];
  }
  let text = JSON.stringify(body);
  if (hostile) {
    const field = hostileField(g, fields);
    text = splice(body, field.name, field.text);
    shapes.push(field.shape);
    if (field.name === 'id') tracked = undefined;
  }
  const base = {
    shape: [route, hostile ? undefined : 'valid', ...shapes].filter(Boolean).join('/'),
    method: kind === 'put' ? ('PUT' as const) : ('POST' as const),
    path,
    headers,
    tracked: [tracked],
    valid: !hostile && rightAuth && oddPath === undefined,
  };
  return finish(g, base, { text, contentType: 'application/json' }, hostile ? 0.15 : 0.1);
}

const HOOK_HEADER = 'x-handoff-secret';

export function hookRequest(g: Gen): FuzzRequest {
  const audience = chance(g.rand, 0.85)
    ? AUDIENCES.sourced
    : pick(g.rand, [
        AUDIENCES.cart,
        'nope',
        '__proto__',
        'constructor',
        '%ff',
        encodeURIComponent(filler(2_000)),
      ]);
  const change = chance(g.rand, 0.95)
    ? pick(g.rand, ['enter', 'enter', 'exit'])
    : pick(g.rand, ['ENTER', 'foo', '__proto__']);
  const secretVariant = chance(g.rand, 0.9)
    ? undefined
    : pick(g.rand, ['missing', 'wrong', 'empty', 'padded', 'longer']);
  const secret = {
    none: SECRETS.hookSecret,
    missing: undefined,
    wrong: 'wrong-secret-0123456789',
    empty: '',
    padded: ` ${SECRETS.hookSecret} `,
    longer: `${SECRETS.hookSecret}x`,
  }[secretVariant ?? 'none'];
  const id = g.id('hk');
  const body: Record<string, unknown> = { id, email: `${id}@example.com`, note: UTF8_MARKER };
  const hostile = chance(g.rand, 0.4);
  let text = JSON.stringify(body);
  const shapes: (string | undefined)[] = [
    `/hooks/customerio/${audience.slice(0, 30)}/${change}`,
    secretVariant && `secret:${secretVariant}`,
  ];
  if (hostile) {
    const field = hostileField(g, ['id', 'email', 'cio_id', 'deep']);
    text = splice(body, field.name, field.text);
    shapes.push(field.shape);
  }
  const right = audience === AUDIENCES.sourced && secretVariant === undefined;
  const enters = right && change === 'enter';
  const base = {
    shape: [...shapes, hostile ? undefined : 'valid'].filter(Boolean).join('/'),
    method: 'POST' as const,
    path: `/hooks/customerio/${audience}/${change}`,
    headers: (secret === undefined ? {} : { [HOOK_HEADER]: secret }) as Record<string, string>,
    tracked: [
      enters && !hostile
        ? userKey('customerio-segments', id, 'track', 'Customer.io Segment Entered')
        : undefined,
    ],
    valid: !hostile && enters,
  };
  return finish(g, base, { text, contentType: 'application/json' }, hostile ? 0.15 : 0.1);
}
