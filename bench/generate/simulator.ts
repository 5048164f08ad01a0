// ---------------------------------------------------------------------------------------------
// The simulation.
import type { GeneratedMessage } from './options.ts';
import type { Device, Phone, Shopper } from './people.ts';
import {
  CA_AREAS,
  EMAIL_DOMAINS,
  EMAIL_DOMAIN_SHARE,
  FIRST_NAMES,
  GB_MOBILE,
  HOUR,
  HOURLY,
  LAST_NAMES,
  PLUS_TAGS,
  US_AREAS,
  capitalize,
  formatPhone,
  round2,
} from './people.ts';
import type { Rng } from './rng.ts';
import type { Campaign, Catalogue, Product } from './shop.ts';
import {
  BROWSER_LIBRARY,
  CAMPAIGNS,
  CATEGORIES,
  COLLECTIONS,
  CURRENCY,
  ORGANIC_REFERRERS,
  SERVER_LIBRARY,
  SHOP,
  USER_AGENTS,
  USER_AGENT_SHARE,
  slug,
  weighted,
} from './shop.ts';

export class Simulator {
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
