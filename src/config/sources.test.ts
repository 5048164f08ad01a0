import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fillMissingSecrets, secretValues } from '../app/secrets.ts';
import { parseConfig, sourceSecret } from './load.ts';

const env = { WEB_KEY: 'web-key-123456', CIO_KEY: 'cio-key-123456' };
const SOURCES = `sources:
  - { id: web, writeKey: { env: WEB_KEY } }
  - { id: cio, kind: customerio, siteId: site-1, apiKey: { env: CIO_KEY } }
`;

describe('config: source kinds', () => {
  test('a Segment source needs no kind; a Customer.io source has a site id and an API key secret', () => {
    const loaded = parseConfig(SOURCES, 'x.yaml', env);
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.error.message);
    assert.deepEqual(loaded.value.sources, [
      { id: 'web', kind: 'segment', writeKey: { env: 'WEB_KEY', value: 'web-key-123456' } },
      {
        id: 'cio',
        kind: 'customerio',
        siteId: 'site-1',
        apiKey: { env: 'CIO_KEY', value: 'cio-key-123456' },
      },
    ]);
    assert.deepEqual(
      loaded.value.sources.map((s) => sourceSecret(s).env),
      ['WEB_KEY', 'CIO_KEY'],
    );
  });

  const problems: [string, string, RegExp][] = [
    [
      'an API key written in the file',
      'sources:\n  - { id: cio, kind: customerio, siteId: s, apiKey: hunter2 }\n',
      /sources\[0\]\.apiKey: secrets may not be written in the file/,
    ],
    [
      'a write key on a Customer.io source',
      'sources:\n  - { id: cio, kind: customerio, siteId: s, writeKey: { env: K } }\n',
      /sources\[0\]\.apiKey: required: \{ env: SOME_VARIABLE \}.*\n.*Unrecognized key: "writeKey"/,
    ],
    [
      'a Customer.io source without a site id',
      'sources:\n  - { id: cio, kind: customerio, apiKey: { env: K } }\n',
      /sources\[0\]\.siteId/,
    ],
    [
      'an unknown kind',
      'sources:\n  - { id: x, kind: rudderstack, writeKey: { env: K } }\n',
      /sources\[0\]\.kind: kind must be segment or customerio/,
    ],
    [
      'a site id used twice',
      'sources:\n  - { id: a, kind: customerio, siteId: s, apiKey: { env: K } }\n  - { id: b, kind: customerio, siteId: s, apiKey: { env: L } }\n',
      /x\.yaml:3:\d+: sources\[1\]\.siteId: site id "s" is used twice/,
    ],
  ];
  for (const [what, text, expected] of problems) {
    test(`${what} is reported with its place and what to fix`, () => {
      const loaded = parseConfig(text, 'x.yaml', env);
      assert.equal(loaded.ok, false);
      if (!loaded.ok) assert.match(loaded.error.message, expected);
    });
  }

  test('an unset API key is generated and kept like a write key, and redacted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'handoff-secrets-'));
    try {
      const loaded = parseConfig(
        `storage: { sqlite: { path: ${JSON.stringify(join(dir, 'h.db'))} } }\n${SOURCES}`,
        'x.yaml',
        { WEB_KEY: env.WEB_KEY },
      );
      assert.ok(loaded.ok);
      const { config, generated, file } = fillMissingSecrets(loaded.value);
      assert.ok(generated.includes('CIO_KEY'));
      const cio = config.sources.find((s) => s.kind === 'customerio');
      const value = cio && sourceSecret(cio).value;
      assert.ok(value);
      assert.equal((JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>).CIO_KEY, value);
      assert.ok(secretValues(config).includes(value));
      assert.ok(secretValues(config).includes(env.WEB_KEY));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
