import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { App } from '../../src/app/app.ts';
import { openApp } from '../../src/app/app.ts';
import { serverServices } from '../../src/app/services.ts';
import type { Config } from '../../src/config/load.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Clock } from '../../src/shared/clock.ts';
import { buildServer } from '../../src/server/server.ts';
import type { SyncOverrides } from '../../src/app/sync.ts';
import type { TestStorage } from './store.ts';
import { storeEnv, testStorage } from './store.ts';

export const WRITE_KEYS = { web: 'test-web-key', backend: 'test-backend-key' } as const;

/**
 * A config for tests: two sources with known write keys, the given extra YAML appended. Its store
 * is the given storage, or the SQLite file at the given path.
 */
export function testConfig(
  storage: TestStorage | string,
  extra = '',
  env: Record<string, string> = {},
): Config {
  const text = `
${typeof storage === 'string' ? `storage: { sqlite: { path: ${JSON.stringify(storage)} } }` : storage.yaml}
sources:
  - { id: web, writeKey: { env: WEB_KEY } }
  - { id: backend, writeKey: { env: BACKEND_KEY } }
${extra}`;
  const parsed = parseConfig(text, 'test.yaml', {
    ...(typeof storage === 'string' ? {} : storeEnv()),
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
  /** Its database (see `rawSql` to reach it directly). */
  storage: TestStorage;
  /** Base URL once `listen()` has been called. */
  url: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

/**
 * A fresh app on its own database (a SQLite file in a temp dir, or a fresh PostgreSQL schema: see
 * `testStoreKind`), with its HTTP server built (not listening).
 */
export async function harness(
  options: {
    extra?: string;
    clock?: Clock;
    newProfileId?: () => string;
    env?: Record<string, string>;
    sync?: SyncOverrides;
  } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-test-'));
  const storage = testStorage(dir);
  const config = testConfig(storage, options.extra, options.env);
  let app: App;
  try {
    app = await openApp({
      config,
      ...(options.sync ? { sync: options.sync } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.newProfileId ? { newProfileId: options.newProfileId } : {}),
    });
  } catch (error) {
    await storage.drop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const server = buildServer(serverServices(app));
  const h: Harness = {
    app,
    server,
    dir,
    storage,
    url: '',
    async listen() {
      h.url = await server.listen({ port: 0, host: '127.0.0.1' });
      return h.url;
    },
    async close() {
      await server.close();
      await app.stop();
      await storage.drop();
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
