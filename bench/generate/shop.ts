// ---------------------------------------------------------------------------------------------
// The shop: a catalogue derived from the seed, pages, campaigns, devices.
import type { Rng } from './rng.ts';

export const SHOP = 'https://fernhollow.example';
export const CURRENCY = 'USD';

export interface Product {
  product_id: string;
  sku: string;
  name: string;
  category: string;
  collection: string;
  price: number;
  handle: string;
}

export const CATEGORIES: readonly {
  name: string;
  code: string;
  kinds: readonly string[];
  styles: readonly string[];
  price: [number, number];
}[] = [
  {
    name: 'Skincare',
    code: 'SK',
    kinds: [
      'Cleanser',
      'Serum',
      'Moisturizer',
      'Eye Cream',
      'Toner',
      'Face Oil',
      'Mineral Sunscreen SPF 30',
      'Exfoliant',
      'Sheet Mask',
    ],
    styles: [
      'Hydrating',
      'Brightening',
      'Calming',
      'Vitamin C',
      'Retinol',
      'Hyaluronic',
      'Niacinamide',
      'Ceramide',
      'Peptide',
    ],
    price: [18, 88],
  },
  {
    name: 'Haircare',
    code: 'HC',
    kinds: ['Shampoo', 'Conditioner', 'Hair Mask', 'Scalp Serum', 'Styling Cream'],
    styles: ['Repair', 'Volume', 'Curl', 'Smoothing', 'Clarifying'],
    price: [16, 42],
  },
  {
    name: 'Body',
    code: 'BD',
    kinds: ['Body Wash', 'Body Lotion', 'Hand Cream', 'Body Oil', 'Deodorant'],
    styles: ['Citrus', 'Lavender', 'Unscented', 'Sandalwood', 'Coconut'],
    price: [12, 38],
  },
  {
    name: 'Makeup',
    code: 'MU',
    kinds: ['Lip Tint', 'Mascara', 'Concealer', 'Cheek Stick', 'Brow Gel', 'Tinted Moisturizer'],
    styles: ['Rose', 'Nude', 'Berry', 'Coral', 'Fair', 'Medium', 'Deep'],
    price: [14, 36],
  },
  {
    name: 'Fragrance',
    code: 'FR',
    kinds: ['Eau de Parfum', 'Solid Perfume', 'Rollerball'],
    styles: ['Fig', 'Vetiver', 'Neroli', 'Amber', 'Iris'],
    price: [28, 120],
  },
  {
    name: 'Sets',
    code: 'ST',
    kinds: ['Starter Set', 'Travel Kit', 'Gift Set', 'Routine Bundle'],
    styles: ['Skincare', 'Glow', 'Hair', 'Holiday'],
    price: [35, 140],
  },
];
/** Category mix of the catalogue: a skincare-led brand. */
const CATEGORY_SHARE = [0.42, 0.14, 0.14, 0.14, 0.08, 0.08];
export const COLLECTIONS = ['new', 'bestsellers', 'core', 'sale', 'limited-edition', 'gifts'] as const;
const COLLECTION_SHARE = [0.16, 0.18, 0.42, 0.1, 0.06, 0.08];

export const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

export function weighted<T>(rng: Rng, items: readonly T[], shares: readonly number[]): T {
  let r = rng.next() * shares.reduce((a, b) => a + b, 0);
  for (let i = 0; i < items.length; i++) {
    r -= shares[i]!;
    if (r < 0) return items[i]!;
  }
  return items[items.length - 1]!;
}

export class Catalogue {
  readonly products: Product[] = [];
  private readonly cumulative: number[] = [];
  readonly byCategory = new Map<string, Product[]>();
  readonly byCollection = new Map<string, Product[]>();

  constructor(rng: Rng, size = 120) {
    const names = new Set<string>();
    while (this.products.length < size) {
      const category = weighted(rng, CATEGORIES, CATEGORY_SHARE);
      const name = `${rng.pick(category.styles)} ${rng.pick(category.kinds)}`;
      if (names.has(name)) continue;
      names.add(name);
      const n = this.products.length;
      const [lo, hi] = category.price;
      const product: Product = {
        product_id: String(7_301_000_000 + n * 7_919 + rng.int(7_000)),
        sku: `${category.code}-${slug(name)
          .split('-')
          .map((w) => w.slice(0, 3).toUpperCase())
          .join('')}-${String(rng.between(10, 99))}`,
        name,
        category: category.name,
        collection: weighted(rng, COLLECTIONS, COLLECTION_SHARE),
        // Whole dollars or the .99 just below them.
        price: Math.round(lo + rng.next() * (hi - lo)) - (rng.chance(0.5) ? 0.01 : 0),
        handle: slug(name),
      };
      this.products.push(product);
      const inCategory = this.byCategory.get(product.category) ?? [];
      inCategory.push(product);
      this.byCategory.set(product.category, inCategory);
      const inCollection = this.byCollection.get(product.collection) ?? [];
      inCollection.push(product);
      this.byCollection.set(product.collection, inCollection);
    }
    // Zipf-like popularity over a shuffled order; new launches get a boost.
    const rank = this.products.map((_, i) => i);
    for (let i = rank.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [rank[i], rank[j]] = [rank[j]!, rank[i]!];
    }
    let total = 0;
    this.products.forEach((p, i) => {
      total += (p.collection === 'new' ? 2 : 1) / Math.pow(rank[i]! + 1, 0.9);
      this.cumulative.push(total);
    });
  }

  /** A product by popularity. */
  popular(rng: Rng): Product {
    const r = rng.next() * this.cumulative[this.cumulative.length - 1]!;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    return this.products[lo]!;
  }

  /** The next product a browsing shopper opens: often a neighbour of the last one. */
  related(rng: Rng, last: Product | undefined): Product {
    if (last && rng.chance(0.6)) {
      const pool = rng.chance(0.7)
        ? this.byCategory.get(last.category)
        : this.byCollection.get(last.collection);
      if (pool && pool.length > 1) return rng.pick(pool);
    }
    return this.popular(rng);
  }
}

export interface Campaign {
  source: string;
  medium: string;
  name: string;
  referrer: string;
}

export const CAMPAIGNS: readonly Campaign[] = [
  { source: 'google', medium: 'cpc', name: 'brand_search', referrer: 'https://www.google.com/' },
  {
    source: 'instagram',
    medium: 'paid_social',
    name: 'new_skincare_launch',
    referrer: 'https://l.instagram.com/',
  },
  {
    source: 'facebook',
    medium: 'paid_social',
    name: 'retargeting_cart',
    referrer: 'https://l.facebook.com/',
  },
  {
    source: 'tiktok',
    medium: 'paid_social',
    name: 'creator_glow_routine',
    referrer: 'https://www.tiktok.com/',
  },
  { source: 'cordial', medium: 'email', name: 'new_arrivals_weekly', referrer: '' },
  { source: 'cordial', medium: 'sms', name: 'flash_sale_24h', referrer: '' },
];
export const ORGANIC_REFERRERS = [
  '',
  '',
  '',
  'https://www.google.com/',
  'https://www.google.com/',
  'https://duckduckgo.com/',
  'https://www.pinterest.com/',
  'https://www.reddit.com/',
];

export const USER_AGENTS = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0',
];
export const USER_AGENT_SHARE = [0.24, 0.2, 0.12, 0.1, 0.1, 0.1, 0.08, 0.06];

export const BROWSER_LIBRARY = { name: 'analytics.js', version: 'npm:next-1.72.0' };
export const SERVER_LIBRARY = { name: '@segment/analytics-node', version: '2.1.3' };
