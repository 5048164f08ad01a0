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

export interface GenerateOptions {
  /** Shoppers in the population (default: events / 25). Not every one need appear. */
  profiles?: number;
  /** Messages to yield (default 10,000). */
  events?: number;
  /** PRNG seed; the same seed and options give the same messages (default 1). */
  seed?: number | string;
  /** Start of the time span: epoch ms, a Date or an ISO string (default 2025-01-01T00:00:00Z). */
  start?: number | Date | string;
  /** Length of the time span in ms (default 30 days). Timestamps fall in [start, start + spanMs). */
  spanMs?: number;
}

export type GeneratedType = 'identify' | 'track' | 'page';

/** A Segment-spec message as analytics.js (browser) or analytics-node (backend) would send it. */
export interface GeneratedMessage {
  type: GeneratedType;
  messageId: string;
  /** ISO-8601, millisecond precision, UTC. */
  timestamp: string;
  anonymousId?: string;
  userId?: string;
  /** Track event name. */
  event?: string;
  /** Page name. */
  name?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context: Record<string, unknown>;
  integrations: Record<string, unknown>;
}

export const DEFAULT_START = Date.UTC(2025, 0, 1);
export const DEFAULT_SPAN_MS = 30 * 24 * 3_600_000;

// ---------------------------------------------------------------------------------------------
// PRNG: sfc32 (128-bit state, so 1M+ random UUIDs do not collide the way a 32-bit state would),
// seeded by cyrb128 of the seed's string form.

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string) {
    const text = String(seed);
    let h1 = 1779033703;
    let h2 = 3144134277;
    let h3 = 1013904242;
    let h4 = 2773480762;
    for (let i = 0; i < text.length; i++) {
      const k = text.charCodeAt(i);
      h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
      h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
      h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
      h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
    }
    h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
    h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
    h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
    h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
    this.a = (h1 ^ h2 ^ h3 ^ h4) >>> 0;
    this.b = (h2 ^ h1) >>> 0;
    this.c = (h3 ^ h1) >>> 0;
    this.d = (h4 ^ h1) >>> 0;
    for (let i = 0; i < 16; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Exponential with the given mean. */
  exp(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Log-normal: exp(N(mu, sigma)). */
  logNormal(mu: number, sigma: number): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.exp(mu + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }

  /** Failures before the first success, each try succeeding with probability p. */
  geometric(p: number, max = Infinity): number {
    let n = 0;
    while (n < max && !this.chance(p)) n++;
    return n;
  }

  hex(chars: number): string {
    let out = '';
    while (out.length < chars) out += this.uint32().toString(16).padStart(8, '0');
    return out.slice(0, chars);
  }

  uuid(): string {
    const h = this.hex(32);
    const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The shop: a catalogue derived from the seed, pages, campaigns, devices.

const SHOP = 'https://fernhollow.example';
const CURRENCY = 'USD';

interface Product {
  product_id: string;
  sku: string;
  name: string;
  category: string;
  collection: string;
  price: number;
  handle: string;
}

const CATEGORIES: readonly {
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
const COLLECTIONS = ['new', 'bestsellers', 'core', 'sale', 'limited-edition', 'gifts'] as const;
const COLLECTION_SHARE = [0.16, 0.18, 0.42, 0.1, 0.06, 0.08];

const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

function weighted<T>(rng: Rng, items: readonly T[], shares: readonly number[]): T {
  let r = rng.next() * shares.reduce((a, b) => a + b, 0);
  for (let i = 0; i < items.length; i++) {
    r -= shares[i]!;
    if (r < 0) return items[i]!;
  }
  return items[items.length - 1]!;
}

class Catalogue {
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

interface Campaign {
  source: string;
  medium: string;
  name: string;
  referrer: string;
}

const CAMPAIGNS: readonly Campaign[] = [
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
const ORGANIC_REFERRERS = [
  '',
  '',
  '',
  'https://www.google.com/',
  'https://www.google.com/',
  'https://duckduckgo.com/',
  'https://www.pinterest.com/',
  'https://www.reddit.com/',
];

const USER_AGENTS = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0',
];
const USER_AGENT_SHARE = [0.24, 0.2, 0.12, 0.1, 0.1, 0.1, 0.08, 0.06];

const BROWSER_LIBRARY = { name: 'analytics.js', version: 'npm:next-1.72.0' };
const SERVER_LIBRARY = { name: '@segment/analytics-node', version: '2.1.3' };

// ---------------------------------------------------------------------------------------------
// People.

const FIRST_NAMES = [
  'Maria',
  'Olivia',
  'Emma',
  'Ava',
  'Sophia',
  'Isabella',
  'Mia',
  'Charlotte',
  'Amelia',
  'Harper',
  'Evelyn',
  'Abigail',
  'Emily',
  'Ella',
  'Madison',
  'Chloe',
  'Grace',
  'Zoe',
  'Nora',
  'Lily',
  'Hannah',
  'Aaliyah',
  'Priya',
  'Mei',
  'Sofia',
  'Camila',
  'Valentina',
  'Leah',
  'Naomi',
  'Ruby',
  'Jessica',
  'Ashley',
  'Sarah',
  'Lauren',
  'Rachel',
  'Megan',
  'Aisha',
  'Fatima',
  'Yuki',
  'Ana',
  'James',
  'Liam',
  'Noah',
  'Ethan',
  'Lucas',
  'Daniel',
  'Michael',
  'David',
  'Omar',
  'Mateo',
  'Chris',
  'Jordan',
  'Taylor',
  'Alex',
  'Sam',
  'Jamie',
  'Morgan',
  'Riley',
  'Casey',
  'Avery',
];
const LAST_NAMES = [
  'Smith',
  'Johnson',
  'Williams',
  'Brown',
  'Jones',
  'Garcia',
  'Miller',
  'Davis',
  'Rodriguez',
  'Martinez',
  'Hernandez',
  'Lopez',
  'Gonzalez',
  'Wilson',
  'Anderson',
  'Thomas',
  'Taylor',
  'Moore',
  'Jackson',
  'Martin',
  'Lee',
  'Perez',
  'Thompson',
  'White',
  'Harris',
  'Sanchez',
  'Clark',
  'Ramirez',
  'Lewis',
  'Robinson',
  'Walker',
  'Young',
  'Allen',
  'King',
  'Wright',
  'Scott',
  'Nguyen',
  'Hill',
  'Flores',
  'Green',
  'Adams',
  'Nelson',
  'Baker',
  'Hall',
  'Rivera',
  'Campbell',
  'Mitchell',
  'Carter',
  'Patel',
  'Kim',
  'Chen',
  'Singh',
  'Okafor',
  "O'Brien",
  'Murphy',
  'Evans',
  'Reyes',
];
const EMAIL_DOMAINS = [
  'gmail.com',
  'yahoo.com',
  'icloud.com',
  'outlook.com',
  'hotmail.com',
  'aol.com',
  'proton.me',
  'comcast.net',
  'me.com',
  'googlemail.com',
];
const EMAIL_DOMAIN_SHARE = [0.48, 0.12, 0.12, 0.08, 0.07, 0.03, 0.03, 0.03, 0.02, 0.02];
const PLUS_TAGS = ['shop', 'fernhollow', 'promo', 'deals', 'beauty'];

/** Area codes (real, non-toll-free) and their UTC offsets in hours. */
const US_AREAS: readonly [string, number][] = [
  ['212', -5],
  ['646', -5],
  ['718', -5],
  ['917', -5],
  ['617', -5],
  ['305', -5],
  ['404', -5],
  ['215', -5],
  ['312', -6],
  ['773', -6],
  ['512', -6],
  ['713', -6],
  ['214', -6],
  ['612', -6],
  ['303', -7],
  ['720', -7],
  ['602', -7],
  ['415', -8],
  ['213', -8],
  ['310', -8],
  ['818', -8],
  ['858', -8],
  ['619', -8],
  ['206', -8],
  ['503', -8],
  ['702', -8],
];
const CA_AREAS: readonly [string, number][] = [
  ['416', -5],
  ['647', -5],
  ['514', -5],
  ['613', -5],
  ['604', -8],
  ['403', -7],
  ['780', -7],
];
/** UK mobile prefixes after the leading 7 that libphonenumber's full metadata accepts (76xx is pagers). */
const GB_MOBILE = ['71', '72', '73', '74', '75', '77', '78', '79'];

interface Phone {
  country: 'US' | 'CA' | 'GB';
  /** National significant number: 10 digits for NANP, 10 digits starting with 7 for GB mobiles. */
  nsn: string;
}

function formatPhone(rng: Rng, phone: Phone): string {
  const n = phone.nsn;
  if (phone.country === 'GB') {
    const [a, b] = [n.slice(0, 4), n.slice(4)];
    return weighted(
      rng,
      [`+44 ${a} ${b}`, `+44${n}`, `+44 (0)${a} ${b}`, `0044 ${a} ${b}`, `0${a} ${b}`, `0${n}`],
      [0.35, 0.2, 0.1, 0.1, 0.15, 0.1],
    );
  }
  const [area, exchange, line] = [n.slice(0, 3), n.slice(3, 6), n.slice(6)];
  return weighted(
    rng,
    [
      `(${area}) ${exchange}-${line}`,
      `${area}-${exchange}-${line}`,
      `${area}.${exchange}.${line}`,
      n,
      `+1 ${area}-${exchange}-${line}`,
      `+1${n}`,
      `1-${area}-${exchange}-${line}`,
      `+1 (${area}) ${exchange} ${line}`,
    ],
    [0.25, 0.2, 0.07, 0.15, 0.1, 0.12, 0.06, 0.05],
  );
}

interface Device {
  anonymousId: string;
  userAgent: string;
  /** Whether analytics.js on this device knows the userId (after login, sign-up or checkout). */
  identified: boolean;
}

interface Pending {
  t: number;
  message: GeneratedMessage;
}

interface Shopper {
  index: number;
  weight: number;
  firstName: string;
  lastName: string;
  /** Canonical, lowercase. */
  emailLocal: string;
  emailDomain: string;
  /** A subaddress tag this shopper likes to use, if any. */
  plusTag: string | undefined;
  phone: Phone | undefined;
  tzOffsetHours: number;
  userId: string | undefined;
  devices: Device[];
  lastDevice: number;
  unsubscribed: boolean;
  orders: number;
  /** Candidate session arrivals per ms before the daily-rhythm thinning. */
  rate: number;
  nextSession: number;
  pending: Pending[];
  /** Heap key: the earliest of pending[0].t and nextSession. */
  key: number;
  heapIndex: number;
}

/** Relative likelihood of starting a session in each local hour (peak evenings). */
const HOURLY = [
  0.2, 0.12, 0.08, 0.06, 0.06, 0.1, 0.2, 0.35, 0.45, 0.5, 0.55, 0.6, 0.65, 0.6, 0.55, 0.55, 0.6, 0.7, 0.85,
  0.95, 1, 0.9, 0.65, 0.4,
];
const HOURLY_MEAN = HOURLY.reduce((a, b) => a + b, 0) / HOURLY.length;
const HOUR = 3_600_000;

const round2 = (x: number): number => Math.round(x * 100) / 100;
const capitalize = (s: string): string =>
  s.replace(/(^|[.\-_])([a-z])/g, (_, sep: string, c: string) => sep + c.toUpperCase());

// ---------------------------------------------------------------------------------------------
// The simulation.

class Simulator {
  private orderCounter = 0;

  constructor(
    private readonly rng: Rng,
    private readonly catalogue: Catalogue,
    /** Events after this are not scheduled (refunds); sessions are not affected. */
    private readonly end: number,
  ) {}

  static shopper(rng: Rng, index: number): Shopper {
    const firstName = rng.pick(FIRST_NAMES);
    const lastName = rng.pick(LAST_NAMES);
    const f = firstName.toLowerCase();
    const l = lastName.toLowerCase().replace(/[^a-z]/g, '');
    // The index keeps addresses unique, so two shoppers never merge by accident.
    const n = String(index + 1);
    const emailLocal = weighted(
      rng,
      [`${f}.${l}${n}`, `${f}${l}${n}`, `${f}_${l}${n}`, `${f[0]}${l}${n}`, `${f}${n}`, `${l}.${f}${n}`],
      [0.3, 0.2, 0.08, 0.17, 0.15, 0.1],
    );
    const region = weighted(rng, ['US', 'CA', 'GB'] as const, [0.82, 0.08, 0.1]);
    let tzOffsetHours = 0;
    let phone: Phone | undefined;
    if (region === 'GB') {
      const nsn = `${rng.pick(GB_MOBILE)}${String(rng.int(100_000_000)).padStart(8, '0')}`;
      // 07700 900xxx is Ofcom's range for drama; stay out of 7700 altogether.
      phone = { country: 'GB', nsn: nsn.startsWith('7700') ? `7911${nsn.slice(4)}` : nsn };
    } else {
      const [area, offset] = rng.pick(region === 'US' ? US_AREAS : CA_AREAS);
      tzOffsetHours = offset;
      // Unique per shopper: the index, spread over 7,000,000 local numbers by a multiplier coprime
      // to it, with exchanges 200-900 skipping 555 (home of the 555-01xx fiction range).
      const local = (index * 2_654_437 + 1_234_567) % 7_000_000;
      let exchange = 200 + Math.floor(local / 10_000);
      if (exchange >= 555) exchange++;
      phone = { country: region, nsn: `${area}${exchange}${String(local % 10_000).padStart(4, '0')}` };
    }
    return {
      index,
      weight: rng.logNormal(0, 1.1),
      firstName,
      lastName,
      emailLocal,
      emailDomain: weighted(rng, EMAIL_DOMAINS, EMAIL_DOMAIN_SHARE),
      plusTag: rng.chance(0.12) ? rng.pick(PLUS_TAGS) : undefined,
      phone: rng.chance(0.8) ? phone : undefined,
      tzOffsetHours,
      // A quarter already have an account with the shop when the span begins.
      userId: rng.chance(0.25) ? Simulator.customerId(index) : undefined,
      devices: [],
      lastDevice: 0,
      unsubscribed: false,
      orders: 0,
      rate: 0,
      nextSession: Infinity,
      pending: [],
      key: Infinity,
      heapIndex: -1,
    };
  }

  /** Shopify-style numeric customer ids, unique per shopper. */
  static customerId(index: number): string {
    return String(6_812_345_000_000 + index * 37);
  }

  /** The next session start after `after`: Poisson arrivals thinned by the hour of day. */
  nextSessionAfter(s: Shopper, after: number): number {
    let t = after;
    for (;;) {
      t += this.rng.exp(1 / s.rate);
      const hour = Math.floor(t / HOUR + s.tzOffsetHours + 48) % 24;
      if (this.rng.next() < HOURLY[hour]!) return Math.round(t);
    }
  }

  private schedule(s: Shopper, t: number, message: GeneratedMessage): void {
    const pending = s.pending;
    let i = pending.length;
    while (i > 0 && pending[i - 1]!.t > t) i--;
    pending.splice(i, 0, { t, message });
  }

  private device(s: Shopper): Device {
    const rng = this.rng;
    if (s.devices.length === 0 || (s.devices.length < 3 && rng.chance(0.12))) {
      s.devices.push({
        anonymousId: rng.uuid(),
        userAgent: weighted(rng, USER_AGENTS, USER_AGENT_SHARE),
        identified: false,
      });
      s.lastDevice = s.devices.length - 1;
    } else if (s.devices.length > 1 && rng.chance(0.2)) {
      s.lastDevice = rng.int(s.devices.length);
    }
    return s.devices[s.lastDevice]!;
  }

  private emailAsTyped(s: Shopper): string {
    const rng = this.rng;
    let local = s.emailLocal;
    if (s.plusTag && rng.chance(0.6)) local += `+${s.plusTag}`;
    const r = rng.next();
    if (r < 0.12) return `${capitalize(local)}@${capitalize(s.emailDomain)}`;
    if (r < 0.15) return `${local}@${s.emailDomain}`.toUpperCase();
    if (r < 0.17) return ` ${local}@${s.emailDomain} `;
    return `${local}@${s.emailDomain}`;
  }

  /** Gap between two steps of a session: page dwell (median ~20 s) or a track right after its page. */
  private dwell(): number {
    return Math.round(Math.min(this.rng.logNormal(Math.log(20_000), 0.9), 600_000));
  }

  private quick(): number {
    return 150 + this.rng.int(2_000);
  }

  /** Simulates one session from `t0`; returns the time of its last event and how many it scheduled. */
  session(s: Shopper, t0: number): { last: number; scheduled: number } {
    const rng = this.rng;
    const catalogue = this.catalogue;
    const device = this.device(s);
    let t = t0;
    let scheduled = 0;
    const ids = (): { anonymousId: string; userId?: string } =>
      device.identified && s.userId !== undefined
        ? { anonymousId: device.anonymousId, userId: s.userId }
        : { anonymousId: device.anonymousId };
    let referrer: string;
    let campaign: Campaign | undefined;
    const emit = (message: GeneratedMessage): void => {
      this.schedule(s, t, message);
      scheduled++;
    };
    interface PageState {
      path: string;
      referrer: string;
      title: string;
      search: string;
    }
    const browserContext = ({ path, referrer, title, search }: PageState): Record<string, unknown> => ({
      library: BROWSER_LIBRARY,
      page: { path, referrer, search, title, url: `${SHOP}${path}${search}` },
      userAgent: device.userAgent,
      locale: s.tzOffsetHours === 0 ? 'en-GB' : 'en-US',
      ...(campaign && search
        ? { campaign: { name: campaign.name, source: campaign.source, medium: campaign.medium } }
        : {}),
    });
    let current: PageState = { path: '/', referrer: '', title: 'Fernhollow', search: '' };
    const page = (name: string, path: string, title: string, search = ''): void => {
      current = { path, referrer, title, search };
      emit({
        type: 'page',
        name,
        properties: { path, referrer, search, title, url: `${SHOP}${path}${search}` },
        ...ids(),
        context: browserContext(current),
        integrations: {},
        messageId: `ajs-next-${rng.hex(32)}`,
        timestamp: '',
      });
      referrer = `${SHOP}${path}`;
    };
    const track = (event: string, properties: Record<string, unknown>): void => {
      emit({
        type: 'track',
        event,
        properties,
        ...ids(),
        context: browserContext(current),
        integrations: {},
        messageId: `ajs-next-${rng.hex(32)}`,
        timestamp: '',
      });
    };
    const identify = (withPhone: boolean, marketing: boolean): void => {
      if (s.userId === undefined) s.userId = Simulator.customerId(s.index);
      device.identified = true;
      // Now and then a customer opts out; every later identify says so.
      if (!s.unsubscribed && s.orders > 0 && rng.chance(0.04)) s.unsubscribed = true;
      const traits: Record<string, unknown> = {
        email: this.emailAsTyped(s),
        first_name: s.firstName,
        last_name: s.lastName,
      };
      if (withPhone && s.phone) traits.phone = formatPhone(rng, s.phone);
      if (s.unsubscribed) traits.unsubscribed = true;
      else if (marketing) traits.accepts_marketing = true;
      emit({
        type: 'identify',
        userId: s.userId,
        anonymousId: device.anonymousId,
        traits,
        context: browserContext(current),
        integrations: {},
        messageId: `ajs-next-${rng.hex(32)}`,
        timestamp: '',
      });
    };
    const productProps = (p: Product): Record<string, unknown> => ({
      product_id: p.product_id,
      sku: p.sku,
      category: p.category,
      collection: p.collection,
      name: p.name,
      price: p.price,
      currency: CURRENCY,
    });

    // Landing.
    campaign = rng.chance(0.3) ? rng.pick(CAMPAIGNS) : undefined;
    referrer = campaign ? campaign.referrer : rng.pick(ORGANIC_REFERRERS);
    const search = campaign
      ? `?utm_source=${campaign.source}&utm_medium=${campaign.medium}&utm_campaign=${campaign.name}`
      : '';
    const landing = rng.next();
    let focus: Product | undefined;
    if (landing < 0.4) page('Home', '/', 'Fernhollow', search);
    else if (landing < 0.7) {
      const collection = weighted(rng, COLLECTIONS, [0.4, 0.25, 0.1, 0.15, 0.05, 0.05]);
      page('Collection', `/collections/${collection}`, `${capitalize(collection)} | Fernhollow`, search);
      if (rng.chance(0.6)) focus = rng.pick(catalogue.byCollection.get(collection) ?? catalogue.products);
    } else focus = catalogue.popular(rng);
    if (focus && landing >= 0.7)
      page('Product', `/products/${focus.handle}`, `${focus.name} | Fernhollow`, search);
    else if (focus) {
      t += this.dwell();
      page('Product', `/products/${focus.handle}`, `${focus.name} | Fernhollow`);
    }
    campaign = undefined;

    // Returning customers log in now and then; known devices re-identify on some visits;
    // anonymous visitors sometimes sign up for the newsletter.
    if (s.userId !== undefined && !device.identified && rng.chance(0.3)) {
      t += this.dwell();
      identify(false, false);
    } else if (device.identified && rng.chance(0.12)) {
      t += this.quick();
      identify(rng.chance(0.3), false);
    } else if (s.userId === undefined && rng.chance(0.04)) {
      t += this.dwell();
      identify(rng.chance(0.2), true);
    }

    // Browsing: each product page may lead to an add to cart.
    const cartId = rng.hex(24);
    const cart: { product: Product; quantity: number }[] = [];
    const view = (product: Product): void => {
      t += this.quick();
      track('Product Viewed', productProps(product));
      if (!rng.chance(0.2) || cart.some((line) => line.product === product)) return;
      const quantity = rng.chance(0.85) ? 1 : 2;
      t += 3_000 + rng.int(40_000);
      track('Product Added', { cart_id: cartId, ...productProps(product), quantity });
      cart.push({ product, quantity });
    };
    if (focus) view(focus);
    const more = rng.chance(focus ? 0.45 : 0.55) ? 1 + rng.geometric(0.45, 5) : 0;
    let last = focus;
    for (let i = 0; i < more; i++) {
      if (rng.chance(0.25)) {
        t += this.dwell();
        const category = last?.category ?? rng.pick(CATEGORIES).name;
        page('Category', `/collections/${slug(category)}`, `${category} | Fernhollow`);
      }
      const product = catalogue.related(rng, last);
      t += this.dwell();
      page('Product', `/products/${product.handle}`, `${product.name} | Fernhollow`);
      view(product);
      last = product;
    }
    if (cart.length === 0 || !rng.chance(0.5)) return { last: t, scheduled };

    // Checkout.
    const lines = cart.map(({ product, quantity }) => ({
      product_id: product.product_id,
      sku: product.sku,
      name: product.name,
      category: product.category,
      price: product.price,
      quantity,
    }));
    const subtotal = round2(lines.reduce((sum, line) => sum + line.price * line.quantity, 0));
    t += this.dwell();
    page('Cart', '/cart', 'Your cart | Fernhollow');
    t += this.dwell();
    const checkoutId = rng.hex(32);
    page('Checkout', `/checkouts/${checkoutId}`, 'Checkout | Fernhollow');
    t += this.quick();
    track('Checkout Started', {
      order_id: checkoutId,
      value: subtotal,
      revenue: subtotal,
      currency: CURRENCY,
      products: lines,
    });
    if (!device.identified || rng.chance(0.5)) {
      t += this.dwell();
      identify(rng.chance(0.7), rng.chance(0.45));
    }
    if (!rng.chance(0.65)) return { last: t, scheduled };

    // Order.
    const coupon = rng.chance(0.2) ? rng.pick(['WELCOME10', 'GLOW15', 'FRIENDS20']) : undefined;
    const discount = coupon ? round2((subtotal * Number(coupon.slice(-2))) / 100) : 0;
    const shipping = subtotal - discount >= 50 ? 0 : 5.95;
    const tax = round2((subtotal - discount) * 0.0825);
    const total = round2(subtotal - discount + shipping + tax);
    const orderId = String(5_810_000_000 + ++this.orderCounter * 13 + rng.int(13));
    t += 30_000 + rng.int(150_000);
    page('Order Confirmation', `/checkouts/${checkoutId}/thank_you`, 'Thank you | Fernhollow');
    t += this.quick();
    track('Order Completed', {
      order_id: orderId,
      checkout_id: checkoutId,
      total,
      subtotal,
      revenue: round2(subtotal - discount),
      shipping,
      tax,
      discount,
      ...(coupon ? { coupon } : {}),
      currency: CURRENCY,
      products: lines,
    });
    s.orders++;
    const orderTime = t;

    // A few orders come back, reported by the shop's backend (userId only).
    if (rng.chance(0.04)) {
      const at = orderTime + 2 * 24 * HOUR + rng.int(19 * 24 * HOUR);
      const returned = rng.chance(0.6) || lines.length === 1 ? lines : lines.slice(0, 1);
      const amount = round2(returned.reduce((sum, line) => sum + line.price * line.quantity, 0));
      const message: GeneratedMessage = {
        type: 'track',
        event: 'Order Refunded',
        userId: s.userId!,
        properties: { order_id: orderId, total: amount, currency: CURRENCY, products: returned },
        context: { library: SERVER_LIBRARY },
        integrations: {},
        messageId: rng.uuid(),
        timestamp: '',
      };
      if (at < this.end) {
        this.schedule(s, at, message);
        scheduled++;
      }
    }
    return { last: t, scheduled };
  }
}

// ---------------------------------------------------------------------------------------------
// A binary min-heap of shoppers by key (keys only grow, so only sift-down is needed after an update).

class ShopperHeap {
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
