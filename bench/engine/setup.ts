import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Config } from '../../src/config/load.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { IncomingEvent } from '../../src/ingest/event.ts';
import type { Message } from '../../src/ingest/messages.ts';
import type { GeneratedMessage } from '../generate/index.ts';

export const TARGET_EVENTS_PER_SEC = 100_000;
export const TARGET_CEILING_FACTOR = 3;
export const APPEND_CHUNK = 10_000;
export const WARM_UP_EVENTS = 20_000;
export const CEILING_READS = 3;
export const DAY = 86_400_000;

/** A full GC, without needing --expose-gc on the command line. */
export function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

export function exampleConfig(sqlitePath: string): Config {
  const text = readFileSync(new URL('../../examples/handoff.yaml', import.meta.url), 'utf8').replace(
    /path: \.\/data\/handoff\.db/,
    `path: ${JSON.stringify(sqlitePath)}`,
  );
  const parsed = parseConfig(text, 'examples/handoff.yaml', {
    HANDOFF_WEB_WRITE_KEY: 'bench-web-key',
    HANDOFF_BACKEND_WRITE_KEY: 'bench-backend-key',
    HANDOFF_ADMIN_TOKEN: 'bench-admin-token',
    HANDOFF_CORDIAL_API_KEY: 'bench-cordial-key',
  });
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

/**
 * A generated message as IngestService would log it: the event time is its stated timestamp (no
 * sentAt, so no skew correction), received one second later. Checked against IngestService itself
 * on a sample at start-up.
 */
export function toIncoming(m: GeneratedMessage): IncomingEvent {
  const timestamp = Date.parse(m.timestamp);
  const library = (m.context.library as { name?: string } | undefined)?.name;
  return {
    sourceId: library === '@segment/analytics-node' ? 'backend' : 'web',
    messageId: m.messageId,
    type: m.type,
    userId: m.userId ?? null,
    anonymousId: m.anonymousId ?? null,
    name: m.type === 'track' ? (m.event ?? null) : (m.name ?? null),
    timestamp,
    receivedAt: timestamp + 1_000,
    message: m as unknown as Message,
  };
}

/** Renames one product to `bundle-01` wherever it appears; picks the first "Sets" product seen. */
export function bundleRenamer(): { rename: (m: GeneratedMessage) => void; chosen: () => string | undefined } {
  let chosen: string | undefined;
  const rename = (m: GeneratedMessage): void => {
    const p = m.properties;
    if (!p) return;
    if (chosen === undefined && p.category === 'Sets' && typeof p.product_id === 'string')
      chosen = p.product_id;
    if (chosen === undefined) return;
    if (p.product_id === chosen) p.product_id = 'bundle-01';
    if (Array.isArray(p.products))
      for (const line of p.products as { product_id?: unknown }[])
        if (line.product_id === chosen) line.product_id = 'bundle-01';
  };
  return { rename, chosen: () => chosen };
}

/** Prints where the profiled thread spent its time: by area, then the top functions by self time. */
