import type { AudienceSet } from '../engine/audience-stage.ts';
import type { HandoffEvents } from '../engine/events.ts';
import type { EnginePorts, QuarantineStore } from '../engine/ports.ts';
import type { IdentityPolicy } from '../identity/model.ts';
import type { HealthSource } from '../monitor/health.ts';
import type { Clock } from '../shared/clock.ts';
import type { SegmentSource } from '../sources/customerio/segment-source.ts';
import type { SourceStore } from '../sources/ports.ts';
import type { AudienceTarget } from '../sync/config.ts';
import type { BulkStore, SyncStore } from '../sync/ports.ts';
import type { App } from './app.ts';
import type { DefinitionsCheck } from './definitions.ts';
import { checkDefinitions } from './definitions.ts';
import type { SyncService } from './sync.ts';
import type { CommandClaim, JobName } from './jobs.ts';
import { claimForCommand } from './jobs.ts';

/** Takes job leases for a command's duration (PostgreSQL), or says which process holds one. */
export type Claim = (names: readonly JobName[], command: string) => Promise<CommandClaim>;

const claimer =
  (app: App): Claim =>
  (names, command) =>
    claimForCommand(app.store.leases, {
      postgres: app.config.storage.postgres !== undefined,
      names,
      command,
    });

// The narrow services the commands get, each built from the App createApp wires: a command
// reaches only what it uses, never the whole application.

/** What `handoff sync` reads and does: the Cordial ledger, the sync service, the Customer.io source. */
export interface SyncAdmin {
  clock: Clock;
  /** The audiences that sync to Cordial, as configured. */
  targets: readonly AudienceTarget[];
  /** The sync ledger: items, dead letters, re-assertion. */
  ledger: SyncStore;
  /** Bulk import jobs in flight and ended. */
  bulkJobs: BulkStore;
  /** Customer.io poll records and held removals. */
  sourceRecords: SourceStore;
  /** Cordial sync; undefined when it is not configured or has no API key. */
  sync: SyncService | undefined;
  /** The Customer.io-sourced audiences; undefined when none. */
  segments: SegmentSource | undefined;
  /** Calls `listener` with each round of sends; returns its removal. */
  onSent(listener: (sent: HandoffEvents['sync.sent']) => void): () => void;
  /** Processes everything logged so far; resolves to how many events it processed. */
  drain(): Promise<number>;
  /** Whether audience state was built with the definitions in force (applies nothing). */
  definitions(): Promise<DefinitionsCheck>;
  claim: Claim;
}

export function syncAdmin(app: App): SyncAdmin {
  return {
    clock: app.clock,
    targets: app.config.targets,
    ledger: app.store.sync,
    bulkJobs: app.store.bulk,
    sourceRecords: app.store.sources,
    sync: app.sync,
    segments: app.segments,
    onSent: (listener) => app.bus.on('sync.sent', listener),
    drain: () => app.processor.drain(),
    definitions: () => checkDefinitions(app, { apply: false }),
    claim: claimer(app),
  };
}

/** What `handoff events quarantine` uses: the quarantine, and the processor to retry with. */
export interface QuarantineAdmin {
  quarantine: QuarantineStore;
  /** Processes everything logged so far, marked quarantined events among it; resolves to how many. */
  drain(): Promise<number>;
  claim: Claim;
}

export function quarantineAdmin(app: App): QuarantineAdmin {
  return { quarantine: app.store.quarantine, drain: () => app.processor.drain(), claim: claimer(app) };
}

/** What `handoff explain` and `handoff plan`/`apply` read: the engine's ports and the audiences in force. */
export interface AudienceInspector {
  clock: Clock;
  audiences: AudienceSet;
  store: EnginePorts;
  /** The identity policy profile references are read with. */
  identity: IdentityPolicy;
  /** The SQLite file the store is on (to find a serve running on it). */
  databasePath: string;
  /** Processes everything logged so far; resolves to how many events it processed. */
  drain(): Promise<number>;
  claim: Claim;
}

export function audienceInspector(app: App): AudienceInspector {
  return {
    clock: app.clock,
    audiences: app.audiences,
    store: app.store,
    identity: app.config.identity,
    databasePath: app.config.storage.sqlitePath,
    drain: () => app.processor.drain(),
    claim: claimer(app),
  };
}

/** What `handoff audit` reads: the monitor's ports and settings, and the time. */
export interface AuditSource extends HealthSource {
  clock: Clock;
}

export function auditSource(app: App): AuditSource {
  return { store: app.store, config: app.config, clock: app.clock };
}
