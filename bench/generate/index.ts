/**
 * Deterministic direct-to-consumer shop traffic as Segment-spec messages, for benchmarks and load tests.
 *
 * A population of `profiles` shoppers visits a beauty/skincare shop over [start, start + spanMs).
 * Each shopper comes back in sessions (Poisson arrivals thinned by a daily rhythm in the shopper's
 * time zone; activity is heavy-tailed, so a few shoppers visit often and most rarely). A session
 * lands on a page (home, a collection or a product, sometimes from a campaign), views products,
 * and drops off along the funnel: Product Viewed → Product Added → Checkout Started → Order
 * Completed, with the occasional Order Refunded days later from the shop's backend. Identify calls
 * come at login, newsletter sign-up and checkout, with userId + anonymousId + traits: email
 * (sometimes mixed-case or plus-tagged), phone in varied national and international formats,
 * first_name, last_name, and `unsubscribed: true` once a shopper has opted out. Shoppers use up to
 * three devices, each with its own anonymousId.
 *
 * `generateEvents` yields exactly `events` messages in time order, each with a messageId and an
 * ISO-8601 timestamp. The same options always give the same messages: all randomness comes from a
 * PRNG seeded by `seed`, never from Math.random or the clock. No `sentAt` is set, so Handoff keeps
 * the stated timestamps (a `sentAt` far from the server's clock would be read as client skew).
 *
 * Emails use real mailbox providers and phones use valid number ranges, because Handoff's identity
 * rules treat gmail.com specially and reject the fiction ranges (US 555-01xx, UK 07700 900xxx).
 * The people are made up; do not send generated profiles to a live ESP.
 */
import { ShopperHeap } from './heap.ts';
import type { GenerateOptions, GeneratedMessage } from './options.ts';
import { DEFAULT_SPAN_MS, DEFAULT_START } from './options.ts';
import type { Shopper } from './people.ts';
import { HOURLY_MEAN } from './people.ts';
import { Rng } from './rng.ts';
import { Catalogue } from './shop.ts';
import { Simulator } from './simulator.ts';

export { Rng } from './rng.ts';
export type { GenerateOptions, GeneratedMessage, GeneratedType } from './options.ts';
export { DEFAULT_SPAN_MS, DEFAULT_START } from './options.ts';

function toEpochMs(value: number | Date | string): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : value;
  if (!Number.isFinite(ms)) throw new RangeError(`start ${String(value)} is not a valid time`);
  return ms;
}

/** Mean messages per session, measured on a throwaway population with the same options. */
function eventsPerSession(
  seed: number | string,
  profiles: number,
  events: number,
  catalogue: Catalogue,
): number {
  const rng = new Rng(`${String(seed)}:calibrate`);
  const sim = new Simulator(rng, catalogue, Infinity);
  const sample = Array.from({ length: Math.min(profiles, 2_000) }, (_, i) => Simulator.shopper(rng, i));
  const weight = sample.reduce((sum, s) => sum + s.weight, 0);
  let perSession = 5;
  // Sessions per shopper shape the mix (first visits differ from returns), so iterate once.
  for (let round = 0; round < 2; round++) {
    const sessions = events / perSession;
    let total = 0;
    let count = 0;
    for (const template of sample) {
      const s: Shopper = { ...template, devices: [], pending: [] };
      const expected = ((sessions / profiles) * sample.length * s.weight) / weight;
      const n = Math.floor(expected) + (rng.chance(expected % 1) ? 1 : 0);
      let t = 0;
      for (let k = 0; k < Math.min(n, 200); k++) {
        const { last, scheduled } = sim.session(s, t);
        t = last + 3_600_000;
        total += scheduled;
        count++;
      }
    }
    if (count > 0) perSession = total / count;
  }
  return perSession;
}

/**
 * Yields `events` Segment-spec messages from `profiles` simulated shoppers in time order.
 * Deterministic: the same options give the same messages.
 */
export function* generateEvents(options: GenerateOptions = {}): Generator<GeneratedMessage, void, undefined> {
  const events = Math.floor(options.events ?? 10_000);
  const profiles = Math.max(1, Math.floor(options.profiles ?? Math.round(events / 25)));
  const seed = options.seed ?? 1;
  const start = toEpochMs(options.start ?? DEFAULT_START);
  const spanMs = options.spanMs ?? DEFAULT_SPAN_MS;
  if (!(events >= 0)) throw new RangeError('events must be a non-negative number');
  if (!(spanMs > 0)) throw new RangeError('spanMs must be positive');
  const end = start + spanMs;

  const catalogue = new Catalogue(new Rng(`${String(seed)}:catalogue`));
  const perSession = eventsPerSession(seed, profiles, events, catalogue);
  const rng = new Rng(`${String(seed)}:profiles`);
  const shoppers = Array.from({ length: profiles }, (_, i) => Simulator.shopper(rng, i));
  const sim = new Simulator(new Rng(`${String(seed)}:events`), catalogue, end);

  // Spread the sessions needed for `events` over 97% of the span, in proportion to activity.
  const sessions = events / perSession;
  const weight = shoppers.reduce((sum, s) => sum + s.weight, 0);
  const heap = new ShopperHeap();
  for (const s of shoppers) {
    s.rate = (sessions * s.weight) / weight / (spanMs * 0.97) / HOURLY_MEAN;
    s.nextSession = sim.nextSessionAfter(s, start);
    s.key = s.nextSession;
    heap.push(s);
  }

  for (let emitted = 0; emitted < events;) {
    const s = heap.peek()!;
    const first = s.pending[0];
    if (first !== undefined && first.t <= s.nextSession) {
      s.pending.shift();
      // Should the calibrated process outrun the span, the stragglers are pinned to its end.
      first.message.timestamp = new Date(Math.min(first.t, end - 1)).toISOString();
      emitted++;
      yield first.message;
    } else {
      const { last } = sim.session(s, s.nextSession);
      s.nextSession = sim.nextSessionAfter(s, last);
    }
    s.key = Math.min(s.pending[0]?.t ?? Infinity, s.nextSession);
    heap.siftTop();
  }
}
