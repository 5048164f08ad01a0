import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Harness } from '../helpers/harness.ts';
import { WRITE_KEYS, basic, harness } from '../helpers/harness.ts';

// Browser clients (analytics.js and the like) send JSON with Basic auth, which needs a preflight.
let h: Harness | undefined;
afterEach(() => h?.close());

async function serve(origins?: string): Promise<string> {
  h = await harness(origins === undefined ? {} : { extra: `ingest: { cors: { origins: ${origins} } }` });
  return h.listen();
}
const SHOP = 'https://shop.example.com';
const preflight = (url: string, path: string, origin = SHOP) =>
  fetch(`${url}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, authorization',
    },
  });
const track = (url: string, origin: string, key: string = WRITE_KEYS.web) =>
  fetch(`${url}/v1/track`, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json', authorization: basic(key) },
    body: JSON.stringify({ anonymousId: 'a1', event: 'Viewed' }),
  });

describe('CORS on the ingest routes', () => {
  test('by default any origin may send: preflights get a 204, responses (errors too) allow the origin', async () => {
    const url = await serve();
    for (const path of ['/v1/track', '/v1/batch', '/v1/import', '/v1/identify']) {
      const res = await preflight(url, path);
      assert.equal(res.status, 204, path);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.equal(res.headers.get('access-control-allow-methods'), 'POST, OPTIONS');
      assert.equal(res.headers.get('access-control-allow-headers'), 'Content-Type, Authorization');
      assert.equal(res.headers.get('access-control-max-age'), '86400');
    }
    const sent = await track(url, SHOP);
    assert.equal(sent.status, 200);
    assert.equal(sent.headers.get('access-control-allow-origin'), '*');
    const refused = await track(url, SHOP, 'wrong');
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('access-control-allow-origin'), '*', 'a page can read why');
  });

  test('never on the admin API, the dashboard or health', async () => {
    const url = await serve();
    for (const path of ['/api/admin/audiences', '/', '/healthz', '/api/v1/events']) {
      const pre = await preflight(url, path);
      assert.notEqual(pre.status, 204, path);
      assert.equal(pre.headers.get('access-control-allow-origin'), null, path);
      const got = await fetch(`${url}${path}`, { headers: { origin: SHOP } });
      assert.equal(got.headers.get('access-control-allow-origin'), null, path);
    }
  });

  test('a list of origins allows those only, varying on Origin', async () => {
    const url = await serve(`[${SHOP}]`);
    const allowed = await preflight(url, '/v1/batch');
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), SHOP);
    assert.match(allowed.headers.get('vary') ?? '', /Origin/);
    const other = await preflight(url, '/v1/batch', 'https://evil.example.net');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    assert.equal(other.headers.get('access-control-allow-methods'), null);
    assert.equal((await track(url, SHOP)).headers.get('access-control-allow-origin'), SHOP);
    const foreign = await track(url, 'https://evil.example.net');
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  });

  test('[] turns CORS off: no preflight route, no headers', async () => {
    const url = await serve('[]');
    const res = await preflight(url, '/v1/track');
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal((await track(url, SHOP)).headers.get('access-control-allow-origin'), null);
  });
});
