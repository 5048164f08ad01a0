import { prng } from '../shared/prng.ts';
/**
 * Realistic D2C shopping traffic as Segment-spec messages: anonymous browsing, carts, checkouts
 * with an identify (email, sometimes phone), orders with revenue, repeat orders and the odd
 * unsubscribe. Seeded, so a run can be repeated exactly.
 */

/** One message and when it happens (ms). */
export interface DemoStep {
  at: number;
  message: Record<string, unknown>;
}

export interface DemoJourneyOptions {
  /** How many shoppers. */
  profiles: number;
  /** When the first shopper arrives (ms). */
  start: number;
  /** Shoppers arrive evenly over this long (ms); their journeys then take up to about 4 minutes. */
  spreadMs: number;
  /** Default 1. */
  seed?: number;
}

const PRODUCTS = [
  { product_id: 'serum-01', name: 'Vitamin C Serum', category: 'Skincare', collection: 'new', price: 48 },
  { product_id: 'cream-02', name: 'Night Cream', category: 'Skincare', collection: 'core', price: 62 },
  { product_id: 'cleanser-03', name: 'Gel Cleanser', category: 'Skincare', collection: 'core', price: 24 },
  { product_id: 'mask-04', name: 'Clay Mask', category: 'Skincare', collection: 'new', price: 36 },
  { product_id: 'shampoo-05', name: 'Repair Shampoo', category: 'Haircare', collection: 'core', price: 28 },
  { product_id: 'oil-06', name: 'Hair Oil', category: 'Haircare', collection: 'new', price: 42 },
  { product_id: 'bundle-01', name: 'Starter Bundle', category: 'Bundles', collection: 'core', price: 118 },
] as const;

const FIRST = ['Ana', 'Ben', 'Chloe', 'Dev', 'Emma', 'Finn', 'Grace', 'Hugo', 'Isla', 'Jon', 'Kai', 'Lena'];

/** Every message of `profiles` shopping journeys, in time order. */
export function demoJourneys(options: DemoJourneyOptions): DemoStep[] {
  const random = prng(options.seed ?? 1);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const between = (low: number, high: number) => low + random() * (high - low);
  const steps: DemoStep[] = [];
  let message = 0;
  for (let n = 1; n <= options.profiles; n++) {
    const anonymousId = `anon-${options.seed ?? 1}-${n}`;
    const userId = `user-${n}`;
    const email = `${pick(FIRST).toLowerCase()}.${n}@example.com`;
    let t = options.start + (options.spreadMs * (n - 1)) / Math.max(1, options.profiles);
    let known = random() < 0.25; // a returning customer, signed in from the start
    const who = () => (known ? { userId, anonymousId } : { anonymousId });
    const push = (m: Record<string, unknown>) => {
      steps.push({
        at: Math.round(t),
        message: { ...who(), ...m, messageId: `demo-${options.seed ?? 1}-${++message}` },
      });
    };
    const identify = () => {
      known = true;
      push({
        type: 'identify',
        traits: {
          email,
          first_name: pick(FIRST),
          ...(random() < 0.5 ? { phone: `+1415555${String(1000 + (n % 9000)).padStart(4, '0')}` } : {}),
        },
      });
    };
    if (known) identify();
    const viewed = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(PRODUCTS));
    for (const p of viewed) {
      push({ type: 'track', event: 'Product Viewed', properties: { ...p, currency: 'USD' } });
      t += between(5_000, 40_000);
    }
    if (random() < 0.35) continue;
    const cart = viewed.slice(0, 1 + Math.floor(random() * viewed.length));
    for (const p of cart) {
      push({ type: 'track', event: 'Product Added', properties: { ...p, quantity: 1, currency: 'USD' } });
      t += between(3_000, 20_000);
    }
    const value = cart.reduce((sum, p) => sum + p.price, 0);
    if (random() < 0.45) continue;
    t += between(10_000, 60_000);
    if (!known) identify();
    const orderId = `order-${n}`;
    const products = cart.map((p) => ({ product_id: p.product_id, price: p.price, quantity: 1 }));
    push({
      type: 'track',
      event: 'Checkout Started',
      properties: { order_id: orderId, value, currency: 'USD', products },
    });
    if (random() < 0.4) continue;
    // Some take their time: past the cart window, so they enter the cart audience and leave on purchase.
    t += between(20_000, 180_000);
    push({
      type: 'track',
      event: 'Order Completed',
      properties: { order_id: orderId, revenue: value, total: value, currency: 'USD', products },
    });
    if (random() < 0.06) {
      t += between(10_000, 60_000);
      push({ type: 'identify', traits: { unsubscribed: true } });
    }
    if (random() < 0.2) {
      t += between(60_000, 240_000);
      const p = pick(PRODUCTS);
      push({
        type: 'track',
        event: 'Order Completed',
        properties: {
          order_id: `${orderId}-2`,
          revenue: p.price,
          total: p.price,
          currency: 'USD',
          products: [p],
        },
      });
    }
  }
  return steps.sort((a, b) => a.at - b.at);
}

export interface SendOptions {
  /** The server's base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  writeKey: string;
  /** At most this many messages per `/v1/batch` call. Default 100. */
  batchSize?: number;
}

/** What the server answered for everything sent so far. */
export interface SendTally {
  sent: number;
  accepted: number;
  rejected: number;
  failedRequests: number;
  lastError?: string;
}

/** Sends messages to a server's Segment API (`/v1/batch`, Basic auth with the write key). */
export async function sendBatch(
  options: SendOptions,
  messages: readonly Record<string, unknown>[],
  tally: SendTally,
): Promise<void> {
  const size = options.batchSize ?? 100;
  const authorization = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  for (let i = 0; i < messages.length; i += size) {
    const batch = messages.slice(i, i + size);
    tally.sent += batch.length;
    try {
      const res = await fetch(`${options.url.replace(/\/$/, '')}/v1/batch`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ batch }),
      });
      const body = (await res.json().catch(() => ({}))) as {
        accepted?: number;
        rejected?: unknown[];
        error?: { message?: string };
      };
      tally.accepted += body.accepted ?? 0;
      tally.rejected += body.rejected?.length ?? (res.ok ? 0 : batch.length);
      if (!res.ok) {
        tally.failedRequests++;
        tally.lastError = `${res.status}: ${body.error?.message ?? res.statusText}`;
      }
    } catch (error) {
      tally.failedRequests++;
      tally.rejected += batch.length;
      tally.lastError = (error as Error).message;
    }
  }
}

/** Sends journeys stamped with their own times: a past few minutes of traffic, at once (tests, backfills). */
export async function sendJourneys(options: SendOptions, steps: readonly DemoStep[]): Promise<SendTally> {
  const tally: SendTally = { sent: 0, accepted: 0, rejected: 0, failedRequests: 0 };
  await sendBatch(
    options,
    steps.map((s) => ({ ...s.message, timestamp: new Date(s.at).toISOString() })),
    tally,
  );
  return tally;
}
