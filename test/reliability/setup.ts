// What every reliability test serves: a temp directory with a config holding a Segment source, a
// Customer.io Track source, a Customer.io-sourced audience (so the webhook routes exist, its App API
// played by the fake) and a few audiences that events move, plus the secrets as environment.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { FakeCustomerIo } from '../fakes/customerio/index.ts';
import { startFakeCustomerIo } from '../fakes/customerio/index.ts';
import type { TestStorage } from '../helpers/store.ts';
import { storeEnv, testStorage } from '../helpers/store.ts';

export const SECRETS = {
  writeKey: 'rel-web-write-key-0123',
  cioSiteId: 'rel-site-0123',
  cioApiKey: 'rel-cio-api-key-0123',
  adminToken: 'rel-admin-token-0123',
  hookSecret: 'rel-hook-secret-0123',
} as const;

/** The Customer.io-sourced audience and the audiences events move. */
export const AUDIENCES = {
  sourced: 'cio_vip',
  cart: 'cart_0_4h',
  big: 'big_spenders',
  top: 'top_revenue',
  vipCart: 'vip_cart_4h',
  unsubscribed: 'unsubscribed',
} as const;

const audiences = [
  {
    key: AUDIENCES.sourced,
    name: 'CIO | VIP',
    purpose: 'the VIP segment as Customer.io computes it',
    channels: ['email'],
    ttl: 'none',
    source: { customerio: { segmentId: 1 } },
  },
  {
    key: AUDIENCES.cart,
    name: 'CI | Cart | 0-4h | No Purchase',
    purpose: 'carts while intent is hot',
    channels: ['email'],
    ttl: '4h',
    condition: {
      all: [
        { type: 'event', event: 'Product Added', within: '4h' },
        { not: { type: 'since_last', event: 'Order Completed', since: 'Product Added' } },
      ],
    },
  },
  {
    key: AUDIENCES.big,
    name: 'LC | Big Spenders',
    purpose: 'revenue over 100 in 30 days',
    channels: ['email'],
    ttl: 'none',
    condition: {
      type: 'aggregate',
      event: 'Order Completed',
      fn: 'sum',
      property: 'revenue',
      compare: { gt: 100 },
      within: '30d',
    },
  },
  {
    key: AUDIENCES.top,
    name: 'LC | VIP | Top 10% Revenue',
    purpose: 'the top tenth by lifetime revenue',
    channels: ['email'],
    ttl: 'none',
    condition: { type: 'top_percent', percent: 10, event: 'Order Completed', fn: 'sum', property: 'revenue' },
  },
  {
    key: AUDIENCES.vipCart,
    name: 'CI | VIP | Cart | 0-4h',
    purpose: 'VIPs with a fresh cart',
    channels: ['email'],
    ttl: '4h',
    condition: {
      all: [
        { type: 'in_audience', audience: AUDIENCES.sourced },
        {
          type: 'event',
          event: 'Product Added',
          within: '4h',
          where: [{ property: 'price', op: 'gte', value: 10 }],
        },
      ],
    },
  },
  {
    key: AUDIENCES.unsubscribed,
    name: 'SUP | Unsubscribed',
    purpose: 'people who unsubscribed',
    channels: ['email'],
    ttl: 'none',
    condition: { type: 'trait', trait: 'unsubscribed', op: 'eq', value: true },
  },
];

export interface Setup {
  dir: string;
  /** The database `serve` runs on (read it with `rawSql`). */
  storage: TestStorage;
  configFile: string;
  /** The environment `serve` (and any CLI command on the same config) needs. */
  env: Record<string, string>;
  cio: FakeCustomerIo;
  close(): Promise<void>;
}

/** A fresh temp directory and config; `close` stops the fake and removes the directory. */
export async function setUp(prefix: string): Promise<Setup> {
  const cio = await startFakeCustomerIo({ rateLimit: false });
  cio.segments.create('VIP', [
    { id: 'vip-seed-1', email: 'vip-seed-1@example.com' },
    { id: 'vip-seed-2', email: 'vip-seed-2@example.com' },
  ]);
  const dir = mkdtempSync(join(tmpdir(), `handoff-${prefix}-`));
  const storage = testStorage(dir);
  const configFile = join(dir, 'handoff.yaml');
  writeFileSync(
    configFile,
    stringify({
      server: { adminToken: { env: 'REL_ADMIN_TOKEN' } },
      storage: storage.section,
      sources: [
        { id: 'web', writeKey: { env: 'REL_WEB_KEY' } },
        { id: 'cio', kind: 'customerio', siteId: SECRETS.cioSiteId, apiKey: { env: 'REL_CIO_API_KEY' } },
      ],
      customerio: {
        baseUrl: cio.baseUrl,
        appApiKey: { env: 'REL_CIO_APP_KEY' },
        webhookSecret: { env: 'REL_HOOK_SECRET' },
      },
      audiences,
    }),
  );
  const env = {
    ...storeEnv(),
    REL_ADMIN_TOKEN: SECRETS.adminToken,
    REL_WEB_KEY: SECRETS.writeKey,
    REL_CIO_API_KEY: SECRETS.cioApiKey,
    REL_CIO_APP_KEY: cio.appApiKey,
    REL_HOOK_SECRET: SECRETS.hookSecret,
  };
  return {
    dir,
    storage,
    configFile,
    env,
    cio,
    async close() {
      await cio.close();
      await storage.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const segmentAuth = (key: string = SECRETS.writeKey): string =>
  `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
export const cioAuth = (siteId: string = SECRETS.cioSiteId, apiKey: string = SECRETS.cioApiKey): string =>
  `Basic ${Buffer.from(`${siteId}:${apiKey}`).toString('base64')}`;
export const adminAuth = (token: string = SECRETS.adminToken): string => `Bearer ${token}`;
