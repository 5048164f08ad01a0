import type { Config } from '../config/load.ts';
import type { IngestService } from '../ingest/service.ts';
import type { HandoffMetrics } from '../monitor/handoff-metrics.ts';
import type { BulkStore } from '../sync/ports.ts';
import type { Clock } from '../shared/clock.ts';
import type { SegmentSource } from '../sources/customerio/segment-source.ts';
import type { Readiness } from '../store/failures.ts';
import type { App } from './app.ts';

// The narrow services the HTTP server hands its routes, built from the App createApp wires: a
// route reaches only what it uses, never the whole application.

/** What the Segment and Customer.io Track ingest routes use: the ingest service and the source keys. */
export interface IngestApi {
  ingest: IngestService;
  /** Source id by write key. */
  sourceForKey(writeKey: string): string | undefined;
  /** Source id of the Customer.io source with this site id and API key. */
  sourceForSiteKey(siteId: string, apiKey: string): string | undefined;
  /** Origins browsers may send to /v1/* from. */
  corsOrigins: readonly string[];
}

/** What the Customer.io segment webhooks use. */
export interface HookApi {
  /** The Customer.io settings (webhook header and secret); undefined when not configured. */
  customerio: Config['customerio'];
  /** The email policy webhook identifiers are normalised with. */
  emailPolicy: Config['identity']['email'];
  /** The Customer.io-sourced audiences; undefined when none. */
  segments: SegmentSource | undefined;
}

/** What the admin API and the dashboard read and act on: definitions, the store's ports, the sync. */
export type AdminServices = Pick<App, 'config' | 'clock' | 'store' | 'audiences' | 'sync' | 'pokeProcessor'>;

/** Everything the HTTP server serves, each route's part apart. */
export interface ServerServices {
  /** Listener limits and the admin token. */
  limits: Config['server'];
  clock: Clock;
  /** Whether the store can take writes now (GET /readyz). */
  readiness(): Promise<Readiness>;
  ingest: IngestApi;
  hooks: HookApi;
  metrics: HandoffMetrics;
  admin: AdminServices;
  /** Import files the destination fetches while their jobs run. */
  bulkFiles: BulkStore;
}

/** The server's services, taken from an App. */
export function serverServices(app: App): ServerServices {
  return {
    limits: app.config.server,
    clock: app.clock,
    readiness: () => app.store.readiness(),
    ingest: {
      ingest: app.ingest,
      sourceForKey: (key) => app.sourceForKey(key),
      sourceForSiteKey: (siteId, apiKey) => app.sourceForSiteKey(siteId, apiKey),
      corsOrigins: app.config.ingest.corsOrigins,
    },
    hooks: {
      customerio: app.config.customerio,
      emailPolicy: app.config.identity.email,
      segments: app.segments,
    },
    metrics: app.monitor.metrics,
    admin: app,
    bulkFiles: app.store.bulk,
  };
}
