import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Harness } from '../helpers/harness.ts';
import { WRITE_KEYS, basic, harness } from '../helpers/harness.ts';
import { ManualClock } from '../../src/shared/clock.ts';

// Whatever a client sends to an ingest route, the answer is a 4xx saying what is wrong, never a
// 5xx, and the valid messages beside a bad one are stored. Over a real HTTP server, so bodies go
// through the same parsers, limits and parse workers (bodies of 16 KB and more) as in production.

const NOW = Date.parse('2026-11-29T12:00:00.000Z');
const SITE_ID = 'site-1';
const CIO_KEY = 'cio-key-1';
const HOOK_SECRET = 'hook-secret-1';

let h: Harness;
before(async () => {
  h = await harness({
    clock: new ManualClock(NOW),
    // Continues the harness's sources list with a Customer.io Track source.
    extra: `  - { id: cio, kind: customerio, siteId: ${SITE_ID}, apiKey: { env: CIO_KEY } }
customerio: { appApiKey: { env: CIO_APP_KEY }, webhookSecret: { env: HOOK_SECRET } }
`,
    env: { CIO_KEY, CIO_APP_KEY: 'app-key', HOOK_SECRET },
  });
  await h.listen();
});
after(() => h.close());

const SEGMENT_AUTH = basic(WRITE_KEYS.web);
const CIO_AUTH = `Basic ${Buffer.from(`${SITE_ID}:${CIO_KEY}`).toString('base64')}`;

/** A response; `json()` is loosely typed, as the tests read both Segment's and Customer.io's shapes. */
interface Sent {
  status: number;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- either error shape, read field by field
  json: () => any;
  headers: Headers;
}

async function send(
  method: string,
  path: string,
  body: string | Uint8Array | undefined,
  headers: Record<string, string>,
): Promise<Sent> {
  const res = await fetch(`${h.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text), headers: res.headers };
}
const post = (path: string, body: string | Uint8Array, auth = SEGMENT_AUTH, type = 'application/json') =>
  send('POST', path, body, { 'content-type': type, ...(auth ? { authorization: auth } : {}) });

const stored = async (messageId: string) =>
  (await h.app.store.events.readAfter(0, 100_000)).find((e) => e.messageId === messageId);

/** `{"a":{"a":…{}…}}`, `depth` objects deep, as text: JSON.stringify overflows on it. */
const nested = (depth: number): string => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
const track = (messageId: string, extra = '') =>
  `{"type":"track","userId":"u1","event":"E","messageId":"${messageId}"${extra}}`;

const SEGMENT_ROUTES = ['identify', 'track', 'page', 'screen', 'group', 'alias', 'batch', 'import'].map(
  (r) => `/v1/${r}`,
);
/** A body for each route with `inside` as a field of its one message. */
const bodyFor = (route: string, inside: string): string => {
  const message = `"userId":"u1","event":"E","groupId":"g","previousId":"p","properties":${inside}`;
  return route === '/v1/batch' || route === '/v1/import'
    ? `{"batch":[{"type":"track",${message}}]}`
    : `{${message}}`;
};

const CIO_ROUTES: [method: string, path: string, body: (inside: string) => string][] = [
  ['PUT', '/api/v1/customers/u1', (inside) => `{"plan":${inside}}`],
  ['POST', '/api/v1/customers/u1/events', (inside) => `{"name":"E","data":${inside}}`],
  ['POST', '/api/v1/events', (inside) => `{"name":"E","anonymous_id":"a1","data":${inside}}`],
];

describe('nesting depth', () => {
  for (const depth of [65, 4_600, 60_000]) {
    test(`every Segment route refuses a message nested ${depth} deep with too_deeply_nested`, async () => {
      for (const route of SEGMENT_ROUTES) {
        const res = await post(route, bodyFor(route, nested(depth)));
        assert.equal(res.status, 400, `${route}: ${res.text.slice(0, 300)}`);
        const rejected = res.json().rejected;
        assert.equal(rejected[0].code, 'too_deeply_nested', route);
        assert.equal(res.json().error.code, 'too_deeply_nested', 'a call of one message takes its code');
        assert.match(rejected[0].message, /^`properties\.a\.a.*` nests .* the limit is 64$/, route);
      }
    });
    // A Customer.io call is at most 32 KB: about 4,600 levels.
    if (depth <= 4_600)
      test(`every Customer.io route refuses a body nested ${depth} deep, naming the field`, async () => {
        for (const [method, path, body] of CIO_ROUTES) {
          const res = await send(method, path, body(nested(depth)), {
            'content-type': 'application/json',
            authorization: CIO_AUTH,
          });
          assert.equal(res.status, 400, `${path}: ${res.text.slice(0, 300)}`);
          assert.match(res.json().meta.errors[0], /^`(plan|data)\.a\.a.*` nests .* the limit is 64$/, path);
        }
      });
  }

  test('a message nested exactly 64 deep is stored', async () => {
    // The message is level 1 and properties level 2, so 62 more objects reach 64.
    const res = await post(
      '/v1/track',
      bodyFor('/v1/track', nested(63)).replace('{', '{"messageId":"at-64",'),
    );
    assert.equal(res.status, 200, res.text);
    assert.ok(await stored('at-64'));
  });

  test('in a batch only the deep message is refused; the messages beside it are stored', async () => {
    const deep = track('deep-2', `,"properties":${nested(60_000)}`);
    const body = `{"batch":[${track('beside-1')},${deep},${track('beside-3')}]}`;
    const res = await post('/v1/batch', body);
    assert.equal(res.status, 400, res.text.slice(0, 300));
    const answer = res.json();
    assert.equal(answer.accepted, 2);
    assert.deepEqual(
      answer.rejected.map((r: { index: number; code: string }) => [r.index, r.code]),
      [[1, 'too_deeply_nested']],
    );
    assert.ok(await stored('beside-1'));
    assert.ok(await stored('beside-3'));
    assert.equal(await stored('deep-2'), undefined);
  });

  test("a batch's own context nested too deep refuses the call, naming the field", async () => {
    const res = await post(
      '/v1/batch',
      `{"context":${nested(100)},"batch":[${track('under-deep-context')}]}`,
    );
    assert.equal(res.status, 400);
    assert.equal(res.json().error.code, 'too_deeply_nested');
    assert.match(res.json().error.message, /^`context\.a\.a/);
  });
});

describe('numbers and times', () => {
  for (const timestamp of ['1.29e307', '1e16', '8640000000000001', '"1969-07-20T20:17:00Z"']) {
    test(`timestamp ${timestamp} is a 400 naming the field, on /v1/track and in a batch`, async () => {
      const single = await post('/v1/track', `{"userId":"u1","event":"E","timestamp":${timestamp}}`);
      assert.equal(single.status, 400, single.text);
      assert.equal(single.json().rejected[0].code, 'invalid_timestamp');
      assert.match(single.json().rejected[0].message, /^timestamp /);
      const id = `beside-ts-${timestamp.length}`;
      const batch = await post(
        '/v1/batch',
        `{"batch":[${track(id)},${track('bad-ts', `,"timestamp":${timestamp}`)}]}`,
      );
      assert.equal(batch.status, 400, batch.text);
      assert.equal(batch.json().accepted, 1);
      assert.ok(await stored(id));
    });
  }

  test('sentAt 1e300, per message or per batch, is refused, not stored with a time of -1e300', async () => {
    const message = await post(
      '/v1/batch',
      `{"batch":[${track('ok-1')},${track('sent-1e300', ',"sentAt":1e300')}]}`,
    );
    assert.equal(message.status, 400);
    assert.match(message.json().rejected[0].message, /^sentAt 1e\+300 is after 9999-12-31/);
    assert.equal(await stored('sent-1e300'), undefined);
    const call = await post('/v1/batch', `{"sentAt":1e300,"batch":[${track('batch-sent-1e300')}]}`);
    assert.equal(call.status, 400);
    assert.equal(call.json().rejected[0].code, 'invalid_timestamp');
    assert.equal(await stored('batch-sent-1e300'), undefined);
  });

  test('a time ahead of the server clock by more than maxFutureSkew is timestamp_in_future', async () => {
    const res = await post('/v1/track', `{"userId":"u1","event":"E","timestamp":"2026-12-25T00:00:00Z"}`);
    assert.equal(res.json().rejected[0].code, 'timestamp_in_future');
    assert.match(res.json().rejected[0].message, /is more than 24h ahead of the server's clock/);
  });

  test('Customer.io timestamp and _timestamp out of range are 400s naming the field', async () => {
    const cases: [string, string, string, RegExp][] = [
      [
        'POST',
        '/api/v1/customers/u1/events',
        '{"name":"E","timestamp":1e300}',
        /timestamp must be in seconds/,
      ],
      [
        'POST',
        '/api/v1/customers/u1/events',
        '{"name":"E","timestamp":-5}',
        /timestamp must be a unix timestamp/,
      ],
      [
        'POST',
        '/api/v1/customers/u1/events',
        '{"name":"E","timestamp":99999999999}',
        /^the event time .* ahead/,
      ],
      [
        'POST',
        '/api/v1/events',
        `{"name":"E","anonymous_id":"a","timestamp":${'9'.repeat(400)}}`,
        /^timestamp must be/,
      ],
      [
        'PUT',
        '/api/v1/customers/u1',
        `{"_timestamp":"${'9'.repeat(400)}"}`,
        /^_timestamp must be a unix timestamp in seconds/,
      ],
      ['PUT', '/api/v1/customers/u1', '{"_timestamp":1e16}', /_timestamp must be in seconds/],
    ];
    for (const [method, path, body, reason] of cases) {
      const res = await send(method, path, body, {
        'content-type': 'application/json',
        authorization: CIO_AUTH,
      });
      assert.equal(res.status, 400, `${path} ${body}: ${res.text}`);
      assert.match(res.json().meta.errors[0], reason, body);
    }
  });
});

describe('authentication comes before the body', () => {
  test('an unknown key in the header is a 401 whatever the body holds', async () => {
    for (const body of ['{"batch": [', nested(60_000), '[1]', '{"userId":"u1"}']) {
      const res = await post('/v1/track', body, basic('wrong-key'));
      assert.equal(res.status, 401, body.slice(0, 40));
      assert.equal(res.json().error.code, 'unauthorized');
    }
  });
  test('a body without a valid writeKey gets a 401, not a validation error', async () => {
    for (const body of ['{"userId":"u1"}', '[1,2]', '7', `{"writeKey":"wrong","traits":${nested(100)}}`]) {
      const res = await post('/v1/identify', body, '');
      assert.equal(res.status, 401, body.slice(0, 40));
      assert.equal(res.json().error.code, 'unauthorized');
    }
  });
  test('Customer.io routes answer 401 to a wrong key before reading a bad body', async () => {
    const wrong = `Basic ${Buffer.from(`${SITE_ID}:nope`).toString('base64')}`;
    const res = await send('PUT', '/api/v1/customers/u1', '{"plan": ', {
      'content-type': 'application/json',
      authorization: wrong,
    });
    assert.equal(res.status, 401);
    assert.match(res.json().meta.error, /unknown site id or API key/);
  });
  test('hooks answer 401 without the secret whatever the audience, and 404 only with it', async () => {
    for (const path of ['/hooks/customerio/no_such_audience/enter', '/hooks/customerio/x/join']) {
      const none = await post(path, '{"id":"u1"}', '');
      assert.equal(none.status, 401, path);
      const wrong = await send('POST', path, '{"id":"u1"}', {
        'content-type': 'application/json',
        'x-handoff-secret': 'nope',
      });
      assert.equal(wrong.status, 401, path);
      const right = await send('POST', path, '{"id":"u1"}', {
        'content-type': 'application/json',
        'x-handoff-secret': HOOK_SECRET,
      });
      assert.equal(right.status, 404, path);
    }
  });
});

describe('no shape of body gives a 5xx on any ingest route', () => {
  const invalidUtf8 = Uint8Array.from([
    ...Buffer.from('{"userId":"u1","event":"'),
    0xff,
    0xc3,
    0x28,
    ...Buffer.from('"}'),
  ]);
  const bodies: [string, string | Uint8Array, string?][] = [
    ['invalid UTF-8', invalidUtf8],
    ['an empty body', ''],
    ['an array', '[1,2,3]'],
    ['a number', '42'],
    ['a string', '"hello"'],
    ['null', 'null'],
    ['malformed JSON', '{"userId": '],
    ['a __proto__ key', '{"userId":"u1","event":"E","name":"E","__proto__":{"polluted":true}}'],
    [
      'an escaped __proto__ key',
      '{"userId":"u1","event":"E","name":"E","\\u005f_proto__":{"polluted":true}}',
    ],
    [
      'constructor.prototype',
      '{"userId":"u1","event":"E","name":"E","constructor":{"prototype":{"polluted":true}}}',
    ],
    ['a 10,000-element array of numbers', JSON.stringify(Array.from({ length: 10_000 }, (_, i) => i))],
    ['a batch of 10,000 non-messages', JSON.stringify({ batch: Array.from({ length: 10_000 }, () => 1) })],
    ['a body over the limit', JSON.stringify({ userId: 'u1', event: 'E', pad: 'x'.repeat(600 * 1024) })],
    ['a form body', 'a=b', 'application/x-www-form-urlencoded'],
    ['XML', '<event/>', 'application/xml'],
    ['multipart', '--x\r\n\r\n--x--', 'multipart/form-data; boundary=x'],
    ['JSON as UTF-16', '{"userId":"u1"}', 'application/json; charset=utf-16'],
  ];
  // Valid for some routes: a Customer.io identify takes `batch` as an attribute, and the UTF-16
  // body's bytes are plain ASCII, which reads the same as UTF-8.
  const MAY_PASS = new Set(['a batch of 10,000 non-messages', 'JSON as UTF-16']);
  const routes: [string, string, string][] = [
    ...SEGMENT_ROUTES.map((r): [string, string, string] => ['POST', r, SEGMENT_AUTH]),
    ...CIO_ROUTES.map(([method, path]): [string, string, string] => [method, path, CIO_AUTH]),
  ];
  for (const [what, body, type] of bodies) {
    test(what, async () => {
      for (const [method, path, auth] of routes) {
        const res = await send(method, path, body, {
          'content-type': type ?? 'application/json',
          authorization: auth,
        });
        if (res.status < 300 && MAY_PASS.has(what)) continue;
        assert.ok(
          res.status >= 400 && res.status < 500,
          `${method} ${path}: ${res.status} ${res.text.slice(0, 200)}`,
        );
        const message = path.startsWith('/v1/')
          ? (res.json().error?.message ?? res.json().rejected?.[0]?.message)
          : (res.json().meta.errors?.[0] ?? res.json().meta.error);
        assert.ok(typeof message === 'string' && message.length > 0, `${path}: ${res.text.slice(0, 200)}`);
      }
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was changed');
    });
  }

  test('no Content-Type and no body', async () => {
    for (const [method, path, auth] of routes) {
      const res = await send(method, path, undefined, { authorization: auth });
      assert.ok(
        res.status >= 400 && res.status < 500,
        `${method} ${path}: ${res.status} ${res.text.slice(0, 200)}`,
      );
    }
    assert.equal(
      (await send('POST', '/v1/track', undefined, { authorization: SEGMENT_AUTH })).json().error.code,
      'empty_body',
    );
  });

  test('the answers say what is wrong', async () => {
    const code = async (body: string | Uint8Array, type = 'application/json') =>
      (await post('/v1/track', body, SEGMENT_AUTH, type)).json();
    assert.equal((await code(invalidUtf8)).error.code, 'invalid_utf8');
    assert.equal((await code('')).error.code, 'empty_body');
    assert.equal((await code('[1]')).error.code, 'invalid_body');
    assert.equal((await code('{"userId": ')).error.code, 'malformed_json');
    assert.equal(
      (await code('a=b', 'application/x-www-form-urlencoded')).error.code,
      'unsupported_content_type',
    );
    assert.equal((await code(bodies[7]![1])).rejected[0].code, 'forbidden_key');
    const big = await post('/v1/batch', bodies[12]![1]);
    assert.equal(big.status, 413);
    assert.match(big.json().error.message, /the limit is 500 KB per request/);
  });

  test('duplicate keys: the last one wins, as JSON.parse reads them', async () => {
    const res = await post(
      '/v1/track',
      '{"userId":"first","userId":"u-dup","event":"E","messageId":"dup-keys"}',
    );
    assert.equal(res.status, 200, res.text);
    assert.equal((await stored('dup-keys'))?.userId, 'u-dup');
  });

  test('a 10,000-element array inside a message is stored', async () => {
    const list = JSON.stringify(Array.from({ length: 10_000 }, () => 0));
    const res = await post(
      '/v1/track',
      `{"userId":"u1","event":"E","messageId":"wide","properties":{"list":${list}}}`,
    );
    assert.equal(res.status, 200, res.text.slice(0, 200));
    const message = (await stored('wide'))?.message;
    assert.equal(message?.type, 'track');
    assert.equal((message.properties?.list as unknown[]).length, 10_000);
  });
});
