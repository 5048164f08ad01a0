// Test helper for the resolution tests: messages in, through a real event log and Processor, to
// what the Store port exposes.
import { configSchema } from '../../config/schema.ts';
import { Processor } from '../../engine/processor.ts';
import type { HandoffEvents } from '../../engine/events.ts';
import type { IncomingEvent } from '../../ingest/event.ts';
import type { Message } from '../../ingest/messages.ts';
import { EventBus } from '../../shared/bus.ts';
import type { Store } from '../../store/ports.ts';
import { createSqliteStore } from '../../store/sqlite/index.ts';
import type { IdentifierKind, IdentityPolicy, MergeRecord, ProfileView } from '../../identity/model.ts';

export const DEFAULTS: IdentityPolicy = configSchema.parse({}).identity;
export const BASE = Date.UTC(2025, 0, 1);
/** Every message is received one second after the previous one, so profile age follows arrival. */
export const receivedAt = (n: number): number => BASE + n * 1000;

export interface Spec {
  type?: 'identify' | 'track' | 'alias';
  userId?: string;
  anonymousId?: string;
  previousId?: string;
  /** track: the event name (default Product Viewed). */
  event?: string;
  /** identify: traits; track: context.traits. */
  traits?: Record<string, unknown>;
  /** Event time (ms); defaults to the receive time. */
  ts?: number;
}

export const identify = (
  userId: string | undefined,
  traits?: Record<string, unknown>,
  anonymousId?: string,
): Spec => ({
  type: 'identify',
  ...(userId === undefined ? {} : { userId }),
  ...(anonymousId === undefined ? {} : { anonymousId }),
  ...(traits === undefined ? {} : { traits }),
});
export const identifyAnonymous = (anonymousId: string, traits?: Record<string, unknown>): Spec =>
  identify(undefined, traits, anonymousId);
export const track = (
  ids: { userId?: string; anonymousId?: string },
  traits?: Record<string, unknown>,
): Spec => ({
  type: 'track',
  ...ids,
  ...(traits === undefined ? {} : { traits }),
});
export const alias = (userId: string, previousId: string): Spec => ({ type: 'alias', userId, previousId });

/** Stores the tests opened, until `closeWorlds`. */
const opened: Store[] = [];

/** Closes every store a World opened: a test file's `after`. */
export const closeWorlds = (): Promise<void[]> => Promise.all(opened.splice(0).map((s) => s.close()));

/** A store, a processor and a clock-like message counter; profile ids are p1, p2, … in creation order. */
export class World {
  private sent = 0;
  private created = 0;
  readonly newProfileId = (): string => `p${++this.created}`;
  readonly processor: Processor;

  constructor(
    readonly store: Store,
    readonly policy: IdentityPolicy = DEFAULTS,
    readonly batchSize = 1000,
  ) {
    opened.push(store);
    this.processor = this.newProcessor();
  }

  newProcessor(): Processor {
    return new Processor({
      store: this.store,
      policy: this.policy,
      bus: new EventBus<HandoffEvents>(),
      newProfileId: this.newProfileId,
      batchSize: this.batchSize,
    });
  }

  /** The receive time the next message will get. */
  get nextAt(): number {
    return receivedAt(this.sent + 1);
  }

  /** Appends the messages (one append, so a large batch resolves them in one working set), then drains. */
  async send(...specs: Spec[]): Promise<number> {
    await this.append(...specs);
    return this.processor.drain();
  }

  async append(...specs: Spec[]): Promise<void> {
    await this.store.events.append(specs.map((s) => this.event(s)));
  }

  profile(kind: IdentifierKind, value: string): Promise<ProfileView | undefined> {
    return this.store.identity.findProfile({ kind, value });
  }

  async idOf(kind: IdentifierKind, value: string): Promise<string | undefined> {
    return (await this.profile(kind, value))?.id;
  }

  private event(spec: Spec): IncomingEvent {
    const n = ++this.sent;
    const at = receivedAt(n);
    const type = spec.type ?? 'track';
    const ids = { userId: spec.userId ?? null, anonymousId: spec.anonymousId ?? null };
    const base = { messageId: `m${n}`, ...(spec.userId ? { userId: spec.userId } : {}) };
    const withAnonymous = spec.anonymousId ? { ...base, anonymousId: spec.anonymousId } : base;
    let message: Message;
    if (type === 'identify') message = { ...withAnonymous, type, traits: spec.traits ?? {} };
    else if (type === 'alias') message = { ...withAnonymous, type, previousId: spec.previousId ?? '' };
    else
      message = {
        ...withAnonymous,
        type,
        event: spec.event ?? 'Product Viewed',
        context: { traits: spec.traits ?? {} },
      };
    return {
      sourceId: 'web',
      messageId: `m${n}`,
      type,
      ...ids,
      name: type === 'track' ? (spec.event ?? 'Product Viewed') : null,
      timestamp: spec.ts ?? at,
      receivedAt: at,
      message,
    };
  }
}

export const world = (policy: Partial<IdentityPolicy> = {}, batchSize?: number): World =>
  new World(createSqliteStore(':memory:'), { ...DEFAULTS, ...policy }, batchSize);

export const identifiersOf = (p: ProfileView | undefined): string[] =>
  (p?.identifiers ?? []).map((i) => `${i.kind}:${i.value}`).sort();

export const merge = (from: string, into: string, cause: MergeRecord['cause'], at: number): MergeRecord => ({
  from,
  into,
  cause,
  at,
});

export const noMergeOn = (cause: MergeRecord['cause']): Partial<IdentityPolicy> => ({
  mergeOn: DEFAULTS.mergeOn.filter((c) => c !== cause),
});
