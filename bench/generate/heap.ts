// ---------------------------------------------------------------------------------------------
// A binary min-heap of shoppers by key (keys only grow, so only sift-down is needed after an update).
import type { Shopper } from './people.ts';

export class ShopperHeap {
  private readonly items: Shopper[] = [];

  push(s: Shopper): void {
    this.items.push(s);
    let i = this.items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(this.items[i]!, this.items[parent]!)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  peek(): Shopper | undefined {
    return this.items[0];
  }

  /** Restores order after the top's key grew. */
  siftTop(): void {
    const items = this.items;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && this.less(items[left]!, items[smallest]!)) smallest = left;
      if (right < items.length && this.less(items[right]!, items[smallest]!)) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private less(a: Shopper, b: Shopper): boolean {
    return a.key < b.key || (a.key === b.key && a.index < b.index);
  }

  private swap(i: number, j: number): void {
    const a = this.items[i]!;
    this.items[i] = this.items[j]!;
    this.items[j] = a;
  }
}
