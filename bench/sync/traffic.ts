/**
 * Shop traffic over `contacts` shoppers, on demand: each shopper's first message is an identify
 * with their email; then Product Viewed (35%), Product Added (40%) or Order Completed (25%) for a
 * shopper drawn at random. Stamped in order, `stepMs` apart from `t0`.
 */
import { Rng } from '../generate/index.ts';
import { emailOf } from './common.ts';

export class Traffic {
  private readonly rng: Rng;
  private readonly introduced: Uint8Array;
  private seq = 0;
  touched = 0;
  readonly mix = new Map<string, number>();

  constructor(
    private readonly contacts: number,
    seed: string,
    private readonly t0: number,
    private readonly stepMs: number,
  ) {
    this.rng = new Rng(seed);
    this.introduced = new Uint8Array(contacts);
  }

  next(count: number): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    const rng = this.rng;
    const push = (m: Record<string, unknown>): void => {
      const kind = (m.event as string | undefined) ?? (m.type as string);
      this.mix.set(kind, (this.mix.get(kind) ?? 0) + 1);
      out.push({
        ...m,
        messageId: `sync-${this.seq}`,
        timestamp: new Date(this.t0 + this.seq++ * this.stepMs).toISOString(),
      });
    };
    while (out.length < count) {
      const i = rng.int(this.contacts);
      if (!this.introduced[i]) {
        this.introduced[i] = 1;
        this.touched++;
        push({ type: 'identify', userId: `u${i}`, traits: { email: emailOf('c', i), first_name: `C${i}` } });
      }
      const roll = rng.next();
      const product = { product_id: `sku-${rng.int(120)}`, price: 10 + rng.int(90), currency: 'USD' };
      if (roll < 0.35) push({ type: 'track', userId: `u${i}`, event: 'Product Viewed', properties: product });
      else if (roll < 0.75)
        push({ type: 'track', userId: `u${i}`, event: 'Product Added', properties: product });
      else
        push({
          type: 'track',
          userId: `u${i}`,
          event: 'Order Completed',
          properties: { order_id: `o-${this.seq}`, revenue: 20 + rng.int(200), currency: 'USD' },
        });
    }
    return out;
  }

  get messages(): number {
    return this.seq;
  }
}
