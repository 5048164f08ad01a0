import { loadavg } from 'node:os';
import { stringify } from 'yaml';
import type { App } from '../../src/app/app.ts';
import type { Config } from '../../src/config/load.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { FakeCordial } from '../../test/fakes/cordial/index.ts';
import { fmt, percentile } from '../lib.ts';

export const TARGET_RATE_RATIO = 0.9;
export const WRITE_KEY = 'bench-sync-write-key';
export const CORDIAL_KEY = 'bench-sync-cordial-key';
export const HOUR = 3_600_000;
export const WARM_UP_EVENTS = 20;

/** Wall-clock ms with sub-ms precision, comparable across threads. */

export interface Dist {
  n: number;
  p50: number;
  p99: number;
  max: number;
}
export function dist(values: number[]): Dist {
  const s = Float64Array.from(values).sort();
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? NaN };
}
export const showDist = (d: Dist): string =>
  `p50 ${fmt(d.p50, 1)} ms, p99 ${fmt(d.p99, 1)} ms, max ${fmt(d.max, 1)} ms (n=${fmt(d.n)})`;
export const roundDist = (d: Dist) => ({
  n: d.n,
  p50: Number(d.p50.toFixed(1)),
  p99: Number(d.p99.toFixed(1)),
  max: Number(d.max.toFixed(1)),
});

// ---------------------------------------------------------------------------------------------
// The audiences and the app.

export const LISTS = { viewed: 'viewed-7d', cart: 'cart-0-4h', purchased: 'purchased-7d' } as const;

export const AUDIENCES = [
  {
    key: 'viewed_7d',
    name: 'BR | Viewed | 7d',
    purpose: 'browse retargeting',
    channels: ['paid_social'],
    ttl: '7d',
    holdout: 5,
    condition: { type: 'event', event: 'Product Viewed', within: '7d' },
    destinations: [{ cordial: { list: LISTS.viewed } }],
  },
  {
    key: 'cart_0_4h',
    name: 'CI | Cart | 0-4h | No Purchase',
    purpose: 'cart reminder',
    channels: ['email'],
    ttl: '4h',
    condition: {
      all: [
        { type: 'event', event: 'Product Added', within: '4h' },
        { not: { type: 'since_last', event: 'Order Completed', since: 'Product Added' } },
      ],
    },
    destinations: [{ cordial: { list: LISTS.cart } }],
  },
  {
    key: 'purchased_7d',
    name: 'SUP | Purchased | 7d',
    purpose: 'suppress recent buyers',
    channels: ['email', 'paid_social'],
    ttl: '7d',
    priority: 100,
    condition: { type: 'event', event: 'Order Completed', within: '7d' },
    destinations: [{ cordial: { list: LISTS.purchased } }],
  },
];

export function benchConfig(
  dbPath: string,
  fake: FakeCordial,
  rateLimit: number,
  concurrency: number,
): Config {
  const text = stringify({
    storage: { sqlite: { path: dbPath } },
    sources: [{ id: 'web', writeKey: { env: 'HANDOFF_BENCH_WRITE_KEY' } }],
    destinations: {
      cordial: {
        baseUrl: fake.baseUrl,
        apiKey: { env: 'HANDOFF_BENCH_CORDIAL_KEY' },
        rateLimit,
        concurrency,
      },
    },
    audiences: AUDIENCES,
  });
  const parsed = parseConfig(text, 'bench-sync.yaml', {
    HANDOFF_BENCH_WRITE_KEY: WRITE_KEY,
    HANDOFF_BENCH_CORDIAL_KEY: CORDIAL_KEY,
  });
  if (!parsed.ok) throw new Error(`${parsed.error.message}: ${JSON.stringify(parsed.error.problems)}`);
  return parsed.value;
}

export const emailOf = (prefix: string, i: number): string => `${prefix}${i}@example.com`;

/** Every list holds exactly its audience's members that are not held out; returns the problems. */
export async function checkMirrored(
  app: App,
  fake: FakeCordial,
): Promise<{ problems: string[]; sizes: Record<string, number> }> {
  const problems: string[] = [];
  const sizes: Record<string, number> = {};
  for (const a of AUDIENCES) {
    const list = a.destinations[0]!.cordial.list;
    const expected: string[] = [];
    for (const m of await app.store.audiences.members(a.key)) {
      if (m.heldOut) continue;
      const profile = await app.store.identity.getProfile(m.profileId);
      const email = profile?.identifiers.find((i) => i.kind === 'email');
      expected.push(email?.address ?? email?.value ?? `(no email: ${m.profileId})`);
    }
    expected.sort();
    const actual = fake.lists().some((l) => l.name === list) ? fake.listMembers(list) : [];
    sizes[list] = actual.length;
    const want = new Set(expected);
    const have = new Set(actual);
    const missing = expected.filter((e) => !have.has(e));
    const extra = actual.filter((e) => !want.has(e));
    if (missing.length > 0 || extra.length > 0)
      problems.push(
        `list ${list}: ${fmt(actual.length)} members, expected ${fmt(expected.length)}; missing ${missing.length} (${missing.slice(0, 3).join(', ')}), extra ${extra.length} (${extra.slice(0, 3).join(', ')})`,
      );
  }
  return { problems, sizes };
}

export const load = (): string =>
  loadavg()
    .map((l) => fmt(l, 2))
    .join(' / ');

export interface Part1Result {
  summary: Record<string, unknown>;
  table: string[];
  problems: string[];
}
