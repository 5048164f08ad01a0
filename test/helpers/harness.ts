import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { App } from '../../src/app/app.ts';
import { createApp } from '../../src/app/app.ts';
import { serverServices } from '../../src/app/services.ts';
import type { Config } from '../../src/config/load.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Clock } from '../../src/shared/clock.ts';
import { buildServer } from '../../src/server/server.ts';
import type { SyncOverrides } from '../../src/app/sync.ts';

export const WRITE_KEYS = { web: 'test-web-key', backend: 'test-backend-key' } as const;

/** A config for tests: two sources with known write keys, the given extra YAML appended. */
export function testConfig(dbPath: string, extra = '', env: Record<string, string> = {}): Config {
  const text = `
storage: { sqlite: { path: ${JSON.stringify(dbPath)} } }
sources:
  - { id: web, writeKey: { env: WEB_KEY } }
  - { id: backend, writeKey: { env: BACKEND_KEY } }
${extra}`;
  const parsed = parseConfig(text, 'test.yaml', {
    WEB_KEY: WRITE_KEYS.web,
    BACKEND_KEY: WRITE_KEYS.backend,
    ...env,
  });
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

export interface Harness {
  app: App;
  server: FastifyInstance;
  dir: string;
  /** Base URL once `listen()` has been called. */
  url: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** A fresh app on its own SQLite file in a temp dir, with its HTTP server built (not listening). */
export function harness(
  options: {
    extra?: string;
    clock?: Clock;
    newProfileId?: () => string;
    env?: Record<string, string>;
    sync?: SyncOverrides;
  } = {},
): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-test-'));
  const config = testConfig(join(dir, 'handoff.db'), options.extra, options.env);
  const app = createApp({
    config,
    ...(options.sync ? { sync: options.sync } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.newProfileId ? { newProfileId: options.newProfileId } : {}),
  });
  const server = buildServer(serverServices(app));
  const h: Harness = {
    app,
    server,
    dir,
    url: '',
    async listen() {
      h.url = await server.listen({ port: 0, host: '127.0.0.1' });
      return h.url;
    },
    async close() {
      await server.close();
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** Deterministic profile ids p1, p2, … */
export function sequentialIds(prefix = 'p'): () => string {
  let n = 0;
  return () => `${prefix}${++n}`;
}

export const basic = (key: string): string => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
