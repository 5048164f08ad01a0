// Requests for the admin API, /metrics, /healthz and the dashboard's files: odd queries, ids,
// tokens and methods.
import { AUDIENCES, adminAuth } from '../setup.ts';
import { chance, filler, nested, pick } from './hostile.ts';
import type { FuzzRequest, Gen } from './request.ts';
import { finish } from './request.ts';

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
