import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, parseConfig, sourceSecret } from './load.ts';

const env = { KEY: 'k-123456', ADMIN: 'admin-123456' };

describe('config', () => {
  test('the example config is valid', () => {
    const file = fileURLToPath(new URL('../../examples/handoff.yaml', import.meta.url));
    const loaded = loadConfigFile(file, {});
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.error.message);
    assert.equal(loaded.value.server.port, 8080);
    assert.equal(loaded.value.storage.sqlitePath, './data/handoff.db');
    assert.deepEqual(
      loaded.value.sources.map((s) => s.id),
      ['web', 'backend'],
    );
  });

  test('an empty file, or one with only comments, is an error that says so', () => {
    for (const text of ['', '\n  \n', '# nothing yet\n']) {
      const loaded = parseConfig(text, 'empty.yaml', env);
      assert.ok(!loaded.ok);
      assert.equal(loaded.error.code, 'config_empty');
      assert.match(loaded.error.message, /^empty\.yaml: the config file is empty/);
    }
  });

  test('defaults fill every section left out, and the result is frozen', () => {
    const loaded = parseConfig('sources: []', 'minimal.yaml', env);
    assert.ok(loaded.ok);
    assert.equal(loaded.value.server.headersTimeoutMs, 10_000);
    assert.equal(loaded.value.server.requestTimeoutMs, 30_000);
    assert.equal(loaded.value.server.connectionTimeoutMs, 60_000);
    assert.equal(loaded.value.server.keepAliveTimeoutMs, 65_000);
    assert.equal(loaded.value.server.maxConnections, 1024);
    assert.equal(loaded.value.ingest.maxFutureSkewMs, 24 * 3_600_000);
    assert.deepEqual(loaded.value.ingest.corsOrigins, ['*'], 'any origin, as Segment allows');
    assert.deepEqual(loaded.value.identity.priority, ['userId', 'email', 'phone', 'anonymousId']);
    assert.equal(loaded.value.identity.email.stripPlusTag, false);
    assert.ok(Object.isFrozen(loaded.value.identity.limits));
  });

  test('secrets come from the environment', () => {
    const loaded = parseConfig(
      'sources: [{ id: web, writeKey: { env: KEY } }]\nserver: { adminToken: { env: ADMIN } }',
      'x.yaml',
      env,
    );
    assert.ok(loaded.ok);
    assert.deepEqual(loaded.value.sources[0] && sourceSecret(loaded.value.sources[0]), {
      env: 'KEY',
      value: 'k-123456',
    });
    assert.equal(loaded.value.server.adminToken?.value, 'admin-123456');
  });

  test('the admin token comes from HANDOFF_ADMIN_TOKEN when the file names no variable', () => {
    const named = parseConfig('sources: []', 'x.yaml', { HANDOFF_ADMIN_TOKEN: 'from-env-123456' });
    assert.ok(named.ok);
    assert.deepEqual(named.value.server.adminToken, { env: 'HANDOFF_ADMIN_TOKEN', value: 'from-env-123456' });
    const unset = parseConfig('sources: []', 'x.yaml', {});
    assert.ok(unset.ok);
    assert.equal(unset.value.server.adminToken?.value, undefined);
  });

  const problems: [string, string, RegExp][] = [
    [
      'a secret written in the file',
      'sources:\n  - id: web\n    writeKey: hunter2\n',
      /x\.yaml:3:15: sources\[0\]\.writeKey: secrets may not be written in the file/,
    ],
    ['an unknown field', 'server:\n  prot: 80\n', /x\.yaml:2:3: server: Unrecognized key: "prot"/],
    ['a wrong type', 'server:\n  port: eighty\n', /x\.yaml:2:9: server\.port: .*number/],
    ['a bad duration', 'ingest:\n  maxFutureSkew: 1 day\n', /ingest\.maxFutureSkew: a duration such as 30s/],
    [
      'a CORS origin with a path',
      'ingest:\n  cors: { origins: [https://shop.example.com/] }\n',
      /ingest\.cors\.origins\[0\]: '\*' or an origin such as https:\/\/shop\.example\.com/,
    ],
    [
      "'*' beside other origins",
      "ingest:\n  cors: { origins: ['*', https://shop.example.com] }\n",
      /ingest\.cors\.origins: '\*' allows every origin: list it alone/,
    ],
    [
      'a duplicate source id',
      'sources:\n  - { id: web, writeKey: { env: KEY } }\n  - { id: web, writeKey: { env: KEY } }\n',
      /sources\[1\]\.id: source id "web" is used twice/,
    ],
    [
      'an unknown phone region',
      'identity:\n  phone: { defaultRegion: XX }\n',
      /identity\.phone\.defaultRegion: a two-letter region/,
    ],
    [
      'a priority that repeats a kind',
      'identity:\n  priority: [userId, userId, email, phone]\n',
      /each of userId, email, phone, anonymousId once/,
    ],
    ['broken YAML', 'server: [\n', /x\.yaml:\d+:\d+: /],
  ];
  for (const [what, text, expected] of problems) {
    test(`${what} is reported with its place and what to fix`, () => {
      const loaded = parseConfig(text, 'x.yaml', env);
      assert.equal(loaded.ok, false);
      if (!loaded.ok) assert.match(loaded.error.message, expected);
    });
  }

  test('server limits: durations above zero, headers within the request timeout', () => {
    const loaded = parseConfig(
      'server: { requestTimeout: 5s, headersTimeout: 6s, keepAliveTimeout: 0s, maxConnections: 10 }',
      'limits.yaml',
      env,
    );
    assert.ok(!loaded.ok);
    assert.match(
      loaded.error.message,
      /server\.headersTimeout: must not be longer than requestTimeout \(5s\)/,
    );
    assert.match(loaded.error.message, /server\.keepAliveTimeout: must be longer than 0s/);
    const fine = parseConfig(
      'server: { requestTimeout: 5s, headersTimeout: 2s, maxConnections: 10 }',
      'l.yaml',
      env,
    );
    assert.ok(fine.ok);
    assert.equal(fine.value.server.requestTimeoutMs, 5_000);
    assert.equal(fine.value.server.maxConnections, 10);
  });

  test('a missing file says which file', () => {
    const loaded = loadConfigFile('/nonexistent/handoff.yaml', {});
    assert.equal(loaded.ok, false);
    if (!loaded.ok)
      assert.match(loaded.error.message, /cannot read the config file \/nonexistent\/handoff\.yaml/);
  });
});

describe('Cordial destinations in the config', () => {
  const audience = (key: string, list: string) => ({
    key,
    name: `CI | ${key}`,
    purpose: 'p',
    channels: ['email'],
    ttl: '1d',
    condition: { type: 'event', event: 'Product Viewed', within: '1d' },
    destinations: [{ cordial: { list } }],
  });
  const config = (
    audiences: unknown[],
    cordial: unknown = { apiKey: { env: 'KEY' }, contactAttributes: ['loyalty-tier'] },
  ) => JSON.stringify({ destinations: { cordial }, audiences });

  test('valid targets default to matching on email', () => {
    const loaded = parseConfig(config([audience('a', 'cart-0-4h')]), 'x.yaml', env);
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.error.message);
    assert.deepEqual(loaded.value.targets, [
      {
        audience: 'a',
        destination: 'cordial',
        target: { list: 'cart-0-4h', identifier: 'email', value: 'userId' },
      },
    ]);
    assert.equal(loaded.value.destinations.cordial?.baseUrl, 'https://api.cordial.io/v2');
  });

  const bad: [string, unknown[], RegExp][] = [
    [
      'an underscore or space',
      [audience('a', 'cart 0_4h')],
      /audiences\[0\]\.destinations\[0\]\.cordial\.list: a: list name "cart 0_4h" is not allowed by Cordial/,
    ],
    ['cid', [audience('a', 'CID')], /a: "cid" is reserved/],
    [
      'a contact attribute',
      [audience('a', 'Loyalty-Tier')],
      /a: list name "Loyalty-Tier" is also a contact attribute/,
    ],
    [
      'two audiences, one list',
      [audience('a', 'shared'), audience('b', 'shared')],
      /b: list "shared" is already used by audience a/,
    ],
    ['over 128 characters', [audience('a', 'x'.repeat(129))], /not allowed by Cordial/],
  ];
  for (const [what, audiences, expected] of bad) {
    test(`a list name with ${what} is refused, naming the audience`, () => {
      const loaded = parseConfig(config(audiences), 'x.yaml', env);
      assert.equal(loaded.ok, false);
      if (!loaded.ok) assert.match(loaded.error.message, expected);
    });
  }

  test('audiences that sync need destinations.cordial', () => {
    const loaded = parseConfig(JSON.stringify({ audiences: [audience('a', 'l')] }), 'x.yaml', env);
    assert.equal(loaded.ok, false);
    if (!loaded.ok) assert.match(loaded.error.message, /destinations\.cordial is not configured/);
  });
});
