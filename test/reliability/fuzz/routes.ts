// Requests for the routes besides Segment's: the Customer.io Track API, the Customer.io campaign
// webhooks, the admin API, /metrics, /healthz and the dashboard's files.
import { AUDIENCES, SECRETS, adminAuth, cioAuth } from '../setup.ts';
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
      path: `/api/v1/customers/${oddPath ?? who}`,
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

const RANGES = [
  '15m',
  '1h',
  '6h',
  '24h',
  '7d',
  '',
  'bogus',
  '1h&range=7d',
  '%ff',
  '__proto__',
  'toString',
  '1e308',
  filler(3_000),
];
const AUDIENCE_KEYS = [
  ...Object.values(AUDIENCES),
  'nope',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'toString',
  '%ff',
  '%00',
  'a%2Fb',
  encodeURIComponent('ü😀'),
  encodeURIComponent(filler(1_500)),
];
const PROFILE_REFS = [
  'fz-u-3',
  'fz-u-42',
  'email:fz-u-3%40example.com',
  'email:',
  'email:%ff',
  'phone:%2B15551234567',
  'phone:1e308',
  'phone:',
  'profile:',
  'profile:__proto__',
  'anonymousId:fz-a-1',
  'anonymousId:',
  '__proto__',
  'constructor',
  'toString',
  'del-1',
  '%00',
  'userId:x',
  ':',
  encodeURIComponent(filler(1_100)),
  encodeURIComponent('\ud83d\ude00'),
];
const RETRY_BODIES = [
  '{"all":true}',
  `{"audience":"${AUDIENCES.cart}"}`,
  '{"audience":"nope"}',
  '{}',
  '{"all":false}',
  '{"all":true,"audience":"x"}',
  '{"__proto__":{"all":true}}',
  '{"audience":{"a":1}}',
  nested(5_000, 'object'),
];

/** The admin API, /metrics, /healthz and the dashboard's files, with odd queries, ids, tokens and methods. */
export function otherRequest(g: Gen): FuzzRequest {
  const tokenVariant = chance(g.rand, 0.9) ? undefined : pick(g.rand, ['missing', 'wrong', 'empty', 'basic']);
  const auth: Record<string, string> = {
    none: { authorization: adminAuth() },
    missing: {},
    wrong: { authorization: adminAuth('wrong') },
    empty: { authorization: 'Bearer ' },
    basic: { authorization: 'Basic eDp5' },
  }[tokenVariant ?? 'none']!;
  const tokenShape = tokenVariant && `token:${tokenVariant}`;
  const get = (shape: string, path: string, valid: boolean, headers = auth): FuzzRequest => ({
    n: g.n,
    shape: [shape, tokenShape].filter(Boolean).join('/'),
    method: 'GET',
    path,
    headers,
    tracked: [],
    valid: valid && tokenVariant === undefined,
  });
  const roll = g.rand();
  if (roll < 0.2) {
    const range = pick(g.rand, RANGES);
    const extra = chance(g.rand, 0.2)
      ? pick(g.rand, ['&x=1', '&range[]=1h', '&__proto__=1', '&constructor[prototype]=1'])
      : '';
    return get(
      `GET /api/admin/audiences?range=${range.slice(0, 30)}${extra}`,
      `/api/admin/audiences?range=${range}${extra}`,
      ['15m', '1h', '6h', '24h', '7d'].includes(range) && extra === '',
    );
  }
  if (roll < 0.4) {
    const key = pick(g.rand, AUDIENCE_KEYS);
    const range = chance(g.rand, 0.5) ? `?range=${pick(g.rand, RANGES)}` : '';
    return get(
      `GET /api/admin/audiences/${key.slice(0, 30)}${range.slice(0, 30)}`,
      `/api/admin/audiences/${key}${range}`,
      false,
    );
  }
  if (roll < 0.6) {
    const ref = pick(g.rand, PROFILE_REFS);
    return get(`GET /api/admin/profiles/${ref.slice(0, 30)}`, `/api/admin/profiles/${ref}`, false);
  }
  if (roll < 0.65) return get('GET /api/admin/sync', '/api/admin/sync', true);
  if (roll < 0.72) {
    const text = pick(g.rand, RETRY_BODIES);
    const base = {
      shape: ['POST /api/admin/sync/retry', text.slice(0, 40), tokenShape].filter(Boolean).join('/'),
      method: 'POST' as const,
      path: '/api/admin/sync/retry',
      headers: auth,
      tracked: [],
      valid: false,
    };
    return finish(g, base, { text, contentType: 'application/json' }, 0.3);
  }
  if (roll < 0.75) {
    const [method, path] = pick(g.rand, [
      ['DELETE', '/api/admin/audiences'],
      ['POST', '/api/admin/audiences'],
      ['PUT', '/api/admin/sync/retry'],
      ['GET', '/api/admin/sync/retry'],
      ['GET', '/v1/track'],
      ['DELETE', '/v1/batch'],
      ['GET', '/api/v1/customers/x'],
      ['GET', '/hooks/customerio/cio_vip/enter'],
      ['HEAD', '/healthz'],
      ['POST', '/healthz'],
    ] as const);
    return { n: g.n, shape: `${method} ${path}`, method, path, headers: auth, tracked: [], valid: false };
  }
  if (roll < 0.82) {
    const metricsAuth = chance(g.rand, 0.8) ? { authorization: adminAuth() } : auth;
    const query = chance(g.rand, 0.2) ? pick(g.rand, ['?name[]=x', '?%ff', '?__proto__=1']) : '';
    return get(
      `GET /metrics${query}`,
      `/metrics${query}`,
      query === '' && metricsAuth.authorization === adminAuth(),
      metricsAuth,
    );
  }
  if (roll < 0.87) return get('GET /healthz', chance(g.rand, 0.9) ? '/healthz' : '/healthz?x=%ff', true, {});
  if (roll < 0.9) return get('GET /api/admin/openapi.json', '/api/admin/openapi.json', true, {});
  const path = pick(g.rand, [
    '/',
    '/',
    '/assets/dashboard.js',
    '/assets/dashboard.css',
    '/assets/../package.json',
    '/assets/%2e%2e/%2e%2e/package.json',
    '/index.html',
    '/assets/',
    '/favicon.ico',
    '/%ff',
    '//',
    '/..%2f..%2fetc/passwd',
    `/${filler(5_000)}`,
  ]);
  return get(
    `GET ${path.slice(0, 40)}`,
    path,
    ['/', '/assets/dashboard.js', '/assets/dashboard.css'].includes(path),
    {},
  );
}
