import assert from 'node:assert/strict';
import type { Identifier, IdentityOp } from '../../identity/model.ts';
import type { IncomingEvent, LoggedEvent } from '../../ingest/event.ts';
import type { Store } from '../ports.ts';

// Shared by the contract files: sample events, identifiers and identity ops, and the test shape.

/** A test against a fresh store, closed afterwards whatever happens. */
export type StoreTest = (title: string, body: (store: Store) => Promise<void>) => void;

export const T0 = Date.UTC(2025, 0, 1);

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

export const userId = (value: string): Identifier => ({ kind: 'userId', value });
export const anonymousId = (value: string): Identifier => ({ kind: 'anonymousId', value });
export const email = (value: string, address = value): Identifier => ({ kind: 'email', value, address });
export const phone = (value: string): Identifier => ({ kind: 'phone', value });

export const create = (profileId: string, at: number): IdentityOp => ({ op: 'create', profileId, at });
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

/** Identifiers in a stable order: adapters may list them in any order. */
export const sorted = (ids: readonly Identifier[] | undefined): Identifier[] =>
  [...(ids ?? [])].sort((a, b) => `${a.kind}:${a.value}`.localeCompare(`${b.kind}:${b.value}`));

/** Applies ops with the cursor `test` moving one step, as a processor would. */
export async function apply(store: Store, ops: IdentityOp[]): Promise<void> {
  const at = await store.cursors.get('test');
  await store.identity.commit(ops, 'test', at, at + 1);
}
