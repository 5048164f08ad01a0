import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Identifier, IdentityOp } from '../../identity/model.ts';
import type { IncomingEvent, LoggedEvent } from '../../ingest/event.ts';
import type { AudienceWrites, ChangeCause, Membership, MembershipChange } from '../../engine/model.ts';
import { emptyWrites } from '../../engine/model.ts';
import type { SyncItem } from '../../sync/model.ts';
import type { DesiredState, ItemResult, Unmatched } from '../../sync/ports.ts';
import type { BatchCommit, Store } from '../ports.ts';

// Builders shared by the contract files. Everything goes through the port, never through SQL, so
// the same tests run on every adapter.

export const T0 = Date.UTC(2025, 0, 1);

/**
 * Registers a test against a fresh store, closed afterwards. A title starts with the methods it
 * exercises (`events.append`, `sync.due`, `commit`): the coverage check reads them.
 */
export type StoreTest = (title: string, body: (store: Store, t: TestContext) => Promise<void>) => void;

export const track = (n: number, over: Partial<IncomingEvent> = {}): IncomingEvent => ({
  sourceId: 'web',
  messageId: `m${n}`,
  type: 'track',
  userId: 'u1',
  anonymousId: null,
  name: 'Product Viewed',
  timestamp: T0 + n,
  receivedAt: T0 + n + 500,
  message: { type: 'track', event: 'Product Viewed', userId: 'u1', messageId: `m${n}` },
  ...over,
});

/** The event as it was appended. An adapter may hand back the stored text too: it must say the same. */
export const withoutOffset = (e: LoggedEvent): IncomingEvent => {
  if (e.body !== undefined) assert.deepEqual(JSON.parse(e.body), e.message, 'body is the message as JSON');
  const { sourceId, messageId, type, userId, anonymousId, name, timestamp, receivedAt, message } = e;
  return { sourceId, messageId, type, userId, anonymousId, name, timestamp, receivedAt, message };
};

export const messageIds = (events: readonly LoggedEvent[]): string[] => events.map((e) => e.messageId);

export const userId = (value: string): Identifier => ({ kind: 'userId', value });
export const anonymousId = (value: string): Identifier => ({ kind: 'anonymousId', value });
export const email = (value: string, address = value): Identifier => ({ kind: 'email', value, address });
export const phone = (value: string): Identifier => ({ kind: 'phone', value });

export const create = (profileId: string, at = T0): IdentityOp => ({ op: 'create', profileId, at });
export const attach = (profileId: string, identifier: Identifier, at = T0): IdentityOp => ({
  op: 'attach',
  profileId,
  identifier,
  at,
});
export const trait = (profileId: string, name: string, value: unknown, ts: number): IdentityOp => ({
  op: 'trait',
  profileId,
  name,
  value,
  ts,
});
export const invalid = (profileId: string, kind: 'email' | 'phone', value: string): IdentityOp => ({
  op: 'invalid',
  profileId,
  kind,
  value,
  reason: 'not valid',
});
export const merge = (from: string, into: string, at: number, offset = 0): IdentityOp => ({
  op: 'merge',
  from,
  into,
  cause: 'identify',
  at,
  offset,
});
export const remove = (profileId: string, at = T0): IdentityOp => ({ op: 'delete', profileId, at });
export const event = (profileId: string, offset: number): IdentityOp => ({ op: 'event', profileId, offset });

/** Identifiers in a stable order: adapters may list them in any order. */
export const sorted = (ids: readonly Identifier[] | undefined): Identifier[] =>
  [...(ids ?? [])].sort((a, b) => `${a.kind}:${a.value}`.localeCompare(`${b.kind}:${b.value}`));

export const sortedStrings = (values: Iterable<string>): string[] => [...values].sort();

/** Applies identity ops with the cursor `test` moving one step, as a processor would. */
export async function apply(store: Store, ops: readonly IdentityOp[]): Promise<void> {
  const at = await store.cursors.get('test');
  await store.identity.commit(ops, 'test', at, at + 1);
}

/** Commits identity ops and audience writes together, without a cursor. */
export function write(
  store: Store,
  audiences: Partial<AudienceWrites>,
  identity: readonly IdentityOp[] = [],
): Promise<void> {
  return store.commit({ identity, audiences: { ...emptyWrites(), ...audiences } });
}

export const batch = (over: Partial<BatchCommit>): BatchCommit => ({
  identity: [],
  audiences: emptyWrites(),
  ...over,
});

/**
 * Appends events and records them as the profile's (created here when `createdAt` is given);
 * returns their offsets.
 */
export async function logEvents(
  store: Store,
  profileId: string,
  events: readonly IncomingEvent[],
  createdAt?: number,
): Promise<number[]> {
  const before = await store.events.head();
  await store.events.append(events);
  const offsets = (await store.events.readAfter(before, events.length)).map((e) => e.offset);
  const ops = offsets.map((offset) => event(profileId, offset));
  await apply(store, createdAt === undefined ? ops : [create(profileId, createdAt), ...ops]);
  return offsets;
}

export const membership = (
  audience: string,
  profileId: string,
  since: number,
  heldOut = false,
): Membership => ({
  audience,
  profileId,
  since,
  heldOut,
});

// A test builder read as the change it makes: change('a', 'p1', 'enter', T0).
/* eslint-disable max-params */
export const change = (
  audience: string,
  profileId: string,
  kind: 'enter' | 'exit',
  at: number,
  over: { cause?: ChangeCause; heldOut?: boolean; version?: string } = {},
): MembershipChange => ({
  audience,
  profileId,
  change: kind,
  at,
  cause: over.cause ?? { kind: 'window' },
  version: over.version ?? 'v1',
  heldOut: over.heldOut ?? false,
});
/* eslint-enable max-params */

/** Enters a profile into an audience, with its outbox change, as the engine commits it. */
export const enter = (store: Store, m: Membership, cause: ChangeCause = { kind: 'window' }): Promise<void> =>
  write(store, {
    entered: [m],
    changes: [change(m.audience, m.profileId, 'enter', m.since, { cause, heldOut: m.heldOut })],
  });

/** Takes a profile out of an audience, with its outbox change. */
export const exit = (store: Store, audience: string, profileId: string, at: number): Promise<void> =>
  write(store, {
    exited: [{ audience, profileId }],
    changes: [change(audience, profileId, 'exit', at)],
  });

export const DEST = 'cordial';

/** A desired state of contact `contact` on list `list-<audience>`, due at T0. */
export const desired = (
  contact: string,
  audience: string,
  wanted: boolean,
  over: Partial<DesiredState> = {},
): DesiredState => ({
  contact,
  list: `list-${audience}`,
  audience,
  profileId: `p-${contact}`,
  email: `${contact}@example.com`,
  desired: wanted,
  changeSeq: 1,
  cause: 'window elapsed',
  version: 'v1',
  changedAt: T0,
  priority: 0,
  dueAt: T0,
  ...over,
});

/** Records desired states (and unmatched members) at `destination`, its cursor moving one step. */
export async function record(
  store: Store,
  states: readonly DesiredState[],
  unmatched: readonly Unmatched[] = [],
  destination = DEST,
): Promise<void> {
  const name = `sync:${destination}`;
  const at = await store.cursors.get(name);
  await store.sync.record(destination, { name, from: at, to: at + 1 }, states, unmatched);
}

/** One item's send result. */
export const sent = (
  item: SyncItem,
  result: ItemResult['result'],
  at: number,
  over: Partial<ItemResult> = {},
): ItemResult => ({
  item,
  result,
  attempts: result === 'ok' ? 0 : item.attempts + 1,
  nextAttemptAt: result === 'retry' ? at + 60_000 : 0,
  status: result === 'ok' ? 200 : result === 'retry' ? 503 : 400,
  message: result === 'ok' ? 'ok' : `failed ${result}`,
  request: `PUT /contacts/${item.contact}`,
  at,
  ...over,
});

/** The item of (contact, list) at the destination; fails when there is none. */
export async function itemOf(
  store: Store,
  contact: string,
  list: string,
  destination = DEST,
): Promise<SyncItem> {
  const item = (await store.sync.items(destination, contact)).find((i) => i.list === list);
  assert.ok(item, `an item for ${contact} on ${list}`);
  return item;
}

/** Sends every due item of the destination at `now` with the same result. */
export async function sendDue(
  store: Store,
  now: number,
  result: ItemResult['result'],
  over: Partial<ItemResult> = {},
): Promise<SyncItem[]> {
  const due = await store.sync.due(DEST, now, 1000);
  await store.sync.results(
    DEST,
    due.map((i) => sent(i, result, now, over)),
  );
  return due;
}

/** Awaits a promise expected to reject, and returns what it rejected with. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('it was accepted'),
    (e: unknown) => e,
  );
}
