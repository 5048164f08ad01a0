import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../config/load.ts';

const sourced = `
audiences:
  - key: cio_vip
    name: CIO | VIP
    purpose: mirror
    channels: [email]
    ttl: none
    source: { customerio: { segmentId: 12 } }
`;
const env = { CIO_KEY: 'app-key' };

test('the region picks the App API base; baseUrl overrides it', () => {
  const base = (section: string) => {
    const parsed = parseConfig(`customerio: ${section}\n${sourced}`, 'h.yaml', env);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
    return parsed.value.customerio!.baseUrl;
  };
  assert.equal(base('{ appApiKey: { env: CIO_KEY } }'), 'https://api.customer.io/v1');
  assert.equal(base('{ region: eu, appApiKey: { env: CIO_KEY } }'), 'https://api-eu.customer.io/v1');
  assert.equal(
    base('{ baseUrl: "http://127.0.0.1:9/v1/", appApiKey: { env: CIO_KEY } }'),
    'http://127.0.0.1:9/v1',
  );
});

test('defaults: 5m polls, 30000 a page, 10 requests/s, 50% removal share, X-Handoff-Secret', () => {
  const parsed = parseConfig(`customerio: { appApiKey: { env: CIO_KEY } }\n${sourced}`, 'h.yaml', env);
  assert.ok(parsed.ok);
  const { appApiKey, webhookSecret, ...rest } = parsed.value.customerio!;
  assert.deepEqual(rest, {
    baseUrl: 'https://api.customer.io/v1',
    webhookHeader: 'X-Handoff-Secret',
    pollEveryMs: 300_000,
    pageSize: 30_000,
    requestsPerSecond: 10,
    maxRemovalShare: 0.5,
  });
  assert.deepEqual(appApiKey, { env: 'CIO_KEY', value: 'app-key' });
  assert.deepEqual(webhookSecret, { env: 'HANDOFF_CUSTOMERIO_WEBHOOK_SECRET', value: undefined });
});

test('mistakes are named with their place in the file', () => {
  const cases: [string, RegExp][] = [
    [
      sourced,
      /h\.yaml:8:13: audiences\[0\]\.source: the audience is sourced from a Customer.io segment but customerio is not configured/,
    ],
    [
      `customerio: { region: us-east, appApiKey: { env: CIO_KEY } }\n`,
      /h\.yaml:1:23: customerio\.region: .*"us"|"eu"/,
    ],
    [`customerio: { pageSize: 50000, appApiKey: { env: CIO_KEY } }\n`, /customerio\.pageSize: .*30000/],
    [`customerio: { appApiKey: abc }\n`, /customerio\.appApiKey: secrets may not be written in the file/],
    [`customerio: { requestsPerSecond: 20, appApiKey: { env: CIO_KEY } }\n`, /customerio\.requestsPerSecond/],
  ];
  for (const [text, message] of cases) {
    const parsed = parseConfig(text, 'h.yaml', env);
    assert.equal(parsed.ok, false, text);
    if (!parsed.ok) assert.match(parsed.error.message, message);
  }
});
