import type { LoggedEvent } from '../ingest/event.ts';
import type { Identifier, IdentifierKind, IdentityOp, IdentityPolicy, MergeCause } from './model.ts';
import { DELETION_EVENT } from './model.ts';
import { normalizeEmail, normalizePhone } from './normalize.ts';
import type { WorkingSet } from './working-set.ts';
import { isRecord } from '../shared/is-record.ts';

/** The identifiers and traits one message carries, normalised. */
export interface MessageIdentity {
  identifiers: Identifier[];
  /** alias: the previousId, which may name a userId or an anonymousId. */
  previousId?: string;
  invalid: { kind: 'email' | 'phone'; value: string; reason: string }[];
  traits: Record<string, unknown>;
}

/**
 * Whether the message may say more about who sent it than its userId and anonymousId columns:
 * identify and alias do, other calls only through `context.traits`. The log's bodies are written
 * by JSON.stringify, so a `traits` key always reads `"traits"`: a body without it is not parsed.
 */
const mayCarryIdentity = (event: LoggedEvent): boolean =>
  event.type === 'identify' ||
  event.type === 'alias' ||
  event.body === undefined ||
  event.body.includes('"traits"');

/** Reads a message's identifiers: ids, and email/phone from its traits (identify) or context.traits. */
export function identityOf(event: LoggedEvent, policy: IdentityPolicy): MessageIdentity {
  const identifiers: Identifier[] = [];
  if (event.userId !== null) identifiers.push({ kind: 'userId', value: event.userId });
  if (event.anonymousId !== null) identifiers.push({ kind: 'anonymousId', value: event.anonymousId });
  if (!mayCarryIdentity(event)) return { identifiers, invalid: [], traits: {} };
  const message = event.message as Record<string, unknown>;
  const contextTraits =
    isRecord(message.context) && isRecord(message.context.traits) ? message.context.traits : {};
  const ownTraits = event.type === 'identify' && isRecord(message.traits) ? message.traits : {};
  const traits: Record<string, unknown> = { ...contextTraits, ...ownTraits };
  const invalid: MessageIdentity['invalid'] = [];
  if (traits.email !== undefined && traits.email !== null && traits.email !== '') {
    const email = normalizeEmail(traits.email, policy.email);
    if (email.ok) {
      identifiers.push({ kind: 'email', value: email.matchKey, address: email.address });
      traits.email = email.address;
    } else {
      // A typo must not replace a good address that a destination would then receive.
      invalid.push({ kind: 'email', value: JSON.stringify(traits.email), reason: email.reason });
      delete traits.email;
    }
  }
  if (traits.phone !== undefined && traits.phone !== null && traits.phone !== '') {
    const phone = normalizePhone(traits.phone, policy.phone.defaultRegion);
    if (phone.ok) {
      identifiers.push({ kind: 'phone', value: phone.e164 });
      traits.phone = phone.e164;
    } else {
      invalid.push({ kind: 'phone', value: JSON.stringify(traits.phone), reason: phone.reason });
      delete traits.phone;
    }
  }
  const previousId = event.type === 'alias' ? (message as { previousId?: string }).previousId : undefined;
  return previousId === undefined
    ? { identifiers, invalid, traits }
    : { identifiers, previousId, invalid, traits };
}

/** Identifiers a message may be found by, for loading the batch's working set. */
export function lookupKeys(identity: MessageIdentity): Identifier[] {
  if (identity.previousId === undefined) return identity.identifiers;
  return [
    ...identity.identifiers,
    { kind: 'userId', value: identity.previousId },
    { kind: 'anonymousId', value: identity.previousId },
  ];
}

export interface Resolution {
  profileId: string;
  ops: IdentityOp[];
}

/** A link through an email (phone) on either side is an email (phone) merge, so `mergeOn` governs it. */
function causeOf(event: LoggedEvent, kind: IdentifierKind, via: IdentifierKind | undefined): MergeCause {
  for (const k of [kind, via]) if (k === 'email' || k === 'phone') return k;
  return event.type === 'alias' ? 'alias' : 'identify';
}

/** One event to resolve: its identity fields, the profiles it may touch, the policy, and a profile id source. */
export interface ResolveInput {
  event: LoggedEvent;
  identity: MessageIdentity;
  ws: WorkingSet;
  policy: IdentityPolicy;
  newId: () => string;
}

/**
 * Decides which profile a message belongs to, creating or merging profiles as its identifiers
 * require, and updates the working set to match. Rules, in order:
 * - the message's highest-priority identifier decides the profile;
 * - other profiles its identifiers point at merge into it when the cause is enabled and the
 *   union stays within the per-kind limits (so, with a userId limit of 1, two userIds never merge);
 * - the oldest profile survives a merge, so its id (and holdout arm) is stable;
 * - an identifier that would exceed a limit is not attached; when that is the deciding identifier,
 *   it starts a profile of its own rather than joining one it cannot belong to.
 */
export function resolve({ event, identity, ws, policy, newId }: ResolveInput): Resolution {
  const ops: IdentityOp[] = [];
  const at = event.receivedAt;
  const identifiers = withPreviousId(identity, ws).sort(
    (a, b) => policy.priority.indexOf(a.kind) - policy.priority.indexOf(b.kind),
  );
  const owned: { identifier: Identifier; owner: string }[] = [];
  for (const identifier of identifiers) {
    const owner = ws.ownerOf(identifier);
    if (owner !== undefined) owned.push({ identifier, owner });
  }

  let target: string;
  // The identifier that led the message to `target`: with the identifier leading to another
  // profile, it names the cause of merging the two.
  let via: Identifier | undefined;
  const primary = identifiers[0];
  const primaryOwner = primary === undefined ? undefined : ws.ownerOf(primary);
  if (primaryOwner !== undefined) {
    target = primaryOwner;
    via = primary;
  } else if (primary === undefined) target = create(ws, ops, newId, at);
  else {
    const host = owned.find((o) => ws.count(o.owner, primary.kind) < policy.limits[primary.kind]);
    target = host?.owner ?? create(ws, ops, newId, at);
    via = host?.identifier ?? primary;
    // Attached before any merge so the limits judge each merge with it in place; otherwise a
    // second userId's new profile merges into the first userId's and the second is dropped.
    ws.attach(target, primary);
    ops.push({ op: 'attach', profileId: target, identifier: primary, at });
  }

  for (const { identifier } of owned) {
    const current = ws.ownerOf(identifier);
    if (current === undefined || current === target) continue;
    const cause = causeOf(event, identifier.kind, via?.kind);
    if (!policy.mergeOn.includes(cause) || !ws.fitsTogether(target, current, policy.limits)) continue;
    const [into, from] = older(ws, target, current);
    ws.merge(from, into);
    ops.push({ op: 'merge', from, into, cause, at, offset: event.offset });
    target = into;
  }

  for (const identifier of identifiers) {
    if (ws.ownerOf(identifier) !== undefined) continue;
    if (ws.count(target, identifier.kind) >= policy.limits[identifier.kind]) continue;
    ws.attach(target, identifier);
    ops.push({ op: 'attach', profileId: target, identifier, at });
  }
  for (const bad of identity.invalid) ops.push({ op: 'invalid', profileId: target, ...bad });
  for (const [name, value] of Object.entries(identity.traits)) {
    ops.push({ op: 'trait', profileId: target, name, value, ts: event.timestamp });
  }
  ops.push({ op: 'event', profileId: target, offset: event.offset });
  if (event.type === 'track' && event.name === DELETION_EVENT) {
    ws.remove(target);
    ops.push({ op: 'delete', profileId: target, at });
  }
  return { profileId: target, ops };
}

/** A new profile, in the working set and in the ops. */
function create(ws: WorkingSet, ops: IdentityOp[], newId: () => string, at: number): string {
  const id = newId();
  ws.addProfile(id, at);
  ops.push({ op: 'create', profileId: id, at });
  return id;
}

/** An alias's previousId is whichever kind already names a profile; otherwise an anonymousId. */
function withPreviousId(identity: MessageIdentity, ws: WorkingSet): Identifier[] {
  const ids = [...identity.identifiers];
  if (identity.previousId === undefined) return ids;
  const asUser: Identifier = { kind: 'userId', value: identity.previousId };
  const asAnonymous: Identifier = { kind: 'anonymousId', value: identity.previousId };
  if (ws.ownerOf(asUser) !== undefined) ids.push(asUser);
  else if (ws.ownerOf(asAnonymous) !== undefined || !ids.some((i) => i.kind === 'anonymousId'))
    ids.push(asAnonymous);
  return ids;
}

function older(ws: WorkingSet, a: string, b: string): [string, string] {
  const ca = ws.createdAt(a);
  const cb = ws.createdAt(b);
  return ca < cb || (ca === cb && a < b) ? [a, b] : [b, a];
}
