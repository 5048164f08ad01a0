// Customer.io segments as audience sources. A poll reads a segment's whole membership, maps each
// person to a profile, and logs an enter for everyone new and an exit for everyone gone, as
// track events the engine applies like any other. A poll that fails or ends early changes
// nothing; one that would remove more than the allowed share of an audience logs its enters but
// holds its exits until an operator confirms them. Campaign webhooks log single changes at once;
// the next poll confirms or corrects them, since it diffs against the audience as it stands.
import type { Logger } from '../../shared/logger.ts';
import type { AudienceDefinition } from '../../audiences/index.ts';
import type { CustomerIoConfig } from './config.ts';
import type { IdentifierKey, IdentityPolicy } from '../../identity/model.ts';
import { keyOf } from '../../identity/model.ts';
import { normalizeEmail } from '../../identity/normalize.ts';
import type { IngestService } from '../../ingest/service.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Result } from '../../shared/result.ts';
import { fail, ok } from '../../shared/result.ts';
import type { SourcePorts } from '../ports.ts';
import type { PollRecord } from '../ports.ts';
import type { SegmentMember, SegmentSnapshot } from './app-api.ts';
import { AppApiClient } from './app-api.ts';
import type { ChangeOrigin, SourceChange } from './messages.ts';
import { SEGMENT_SOURCE_ID, changeMessage, cioAnonymousId } from './messages.ts';

/** An audience mirrored from a Customer.io segment. */
export interface SourcedAudience {
  key: string;
  segmentId: number;
  /** How often it is polled (ms). */
  pollEveryMs: number;
  maxRemovalShare: number;
}

export interface SegmentSourceDeps {
  config: CustomerIoConfig;
  audiences: readonly AudienceDefinition[];
  store: SourcePorts;
  ingest: IngestService;
  identity: IdentityPolicy;
  clock: Clock;
  logger: Logger;
  /** Applies everything logged so far, so a diff starts from the audience as it stands. */
  catchUp: () => Promise<unknown>;
  /** Throws when this process may no longer poll (its lease was lost): checked before a poll and before its results are written. */
  fence?: () => void;
  /** The membership reader; default: the App API at `config.baseUrl`. */
  reader?: { membership(segmentId: number): Promise<Result<SegmentSnapshot>> };
}

/** What a webhook call asked for, and whether it changed anything. */
export type WebhookOutcome =
  { outcome: 'logged' } | { outcome: 'ignored'; reason: string } | { outcome: 'refused'; reason: string };

const LOG_CHUNK = 1000;
const RESOLVE_CHUNK = 5000;

export function sourcedAudiences(
  audiences: readonly AudienceDefinition[],
  config: CustomerIoConfig,
): SourcedAudience[] {
  return audiences.flatMap((a) => {
    const source = a.source?.customerio;
    if (source === undefined) return [];
    return [
      {
        key: a.key,
        segmentId: source.segmentId,
        pollEveryMs: a.cadence === 'realtime' ? config.pollEveryMs : a.cadence,
        maxRemovalShare: source.maxRemovalShare ?? config.maxRemovalShare,
      },
    ];
  });
}

export class SegmentSource {
  readonly audiences: ReadonlyMap<string, SourcedAudience>;
  private readonly reader: { membership(segmentId: number): Promise<Result<SegmentSnapshot>> };
  private timers: NodeJS.Timeout[] = [];
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: SegmentSourceDeps) {
    this.audiences = new Map(sourcedAudiences(deps.audiences, deps.config).map((a) => [a.key, a]));
    this.reader =
      deps.reader ??
      new AppApiClient({
        baseUrl: deps.config.baseUrl,
        apiKey: deps.config.appApiKey.value ?? '',
        requestsPerSecond: deps.config.requestsPerSecond,
        pageSize: deps.config.pageSize,
      });
  }

  /** Polls every sourced audience now, then each on its own interval. */
  start(): void {
    const waiting = new Set<string>();
    for (const audience of this.audiences.values()) {
      const run = () => {
        // A poll slower than its interval is not queued again behind itself.
        if (waiting.has(audience.key)) return;
        waiting.add(audience.key);
        this.poll(audience.key)
          .catch((error: unknown) =>
            this.deps.logger.error({ err: error, audience: audience.key }, 'Customer.io poll failed'),
          )
          .finally(() => waiting.delete(audience.key));
      };
      run();
      const timer = setInterval(run, audience.pollEveryMs);
      timer.unref();
      this.timers.push(timer);
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.chain.catch(() => undefined);
  }

  /** One poll of one audience. Polls run one at a time: they share the App API's budget. */
  poll(audienceKey: string): Promise<PollRecord> {
    const audience = this.audiences.get(audienceKey);
    if (audience === undefined)
      return Promise.reject(new Error(`${audienceKey} is not a Customer.io-sourced audience`));
    const run = this.chain.then(() => this.pollOnce(audience));
    this.chain = run.catch(() => undefined);
    return run;
  }

  async pollAll(): Promise<PollRecord[]> {
    const out: PollRecord[] = [];
    for (const key of this.audiences.keys()) out.push(await this.poll(key));
    return out;
  }

  /** Logs the held exits of an audience (those still members) and releases the hold. */
  async confirm(audienceKey: string): Promise<Result<{ exited: number }>> {
    const audience = this.audiences.get(audienceKey);
    if (audience === undefined)
      return fail({ code: 'not_sourced', message: `${audienceKey} is not a Customer.io-sourced audience` });
    const held = await this.deps.store.sources.held(audienceKey);
    if (held === undefined)
      return fail({ code: 'nothing_held', message: `no removal is held for ${audienceKey}` });
    await this.deps.catchUp();
    const members = new Set((await this.deps.store.audiences.members(audienceKey)).map((m) => m.profileId));
    const still = held.profileIds.filter((id) => members.has(id));
    const exited = await this.logExits(audience, still, 'confirmed');
    await this.deps.store.sources.release(audienceKey);
    this.deps.logger.info({ audience: audienceKey, exited }, 'held Customer.io removal confirmed');
    return ok({ exited });
  }

  /** A campaign webhook's enter or exit for one person. */
  async webhook(
    audienceKey: string,
    change: 'enter' | 'exit',
    member: SegmentMember,
  ): Promise<WebhookOutcome> {
    const audience = this.audiences.get(audienceKey);
    if (audience === undefined)
      return { outcome: 'refused', reason: `${audienceKey} is not a Customer.io-sourced audience` };
    const at = this.deps.clock.now();
    const sourceChange: SourceChange = {
      audience: audienceKey,
      segmentId: audience.segmentId,
      change,
      via: 'webhook',
      at,
    };
    // An exit for someone Handoff never saw has nothing to take out of the audience.
    if (change === 'exit' && (await this.profileOf(member)) === undefined)
      return { outcome: 'ignored', reason: 'no profile has these identifiers' };
    const message = changeMessage({ member }, sourceChange);
    if (message === undefined) return { outcome: 'refused', reason: 'the person has no id, email or cio_id' };
    const result = await this.log([message]);
    return result.rejected.length > 0
      ? { outcome: 'refused', reason: result.rejected.map((r) => r.message).join('; ') }
      : { outcome: 'logged' };
  }

  private async pollOnce(audience: SourcedAudience): Promise<PollRecord> {
    const at = this.deps.clock.now();
    this.deps.fence?.();
    const snapshot = await this.reader.membership(audience.segmentId);
    this.deps.fence?.();
    if (!snapshot.ok) {
      const record: PollRecord = {
        audience: audience.key,
        at,
        outcome: 'failed',
        members: 0,
        entered: 0,
        exited: 0,
        held: 0,
        error: snapshot.error.message,
      };
      await this.deps.store.sources.recordPoll(record);
      this.deps.logger.warn(
        { audience: audience.key, error: snapshot.error.message },
        'Customer.io poll failed; no exits',
      );
      return record;
    }
    await this.deps.catchUp();
    const current = new Set((await this.deps.store.audiences.members(audience.key)).map((m) => m.profileId));
    const listed = new Set<string>();
    const newcomers: SegmentMember[] = [];
    const profiles = await this.profilesOf(snapshot.value.members);
    for (const [i, member] of snapshot.value.members.entries()) {
      const profileId = profiles[i];
      if (profileId === undefined) newcomers.push(member);
      else if (!listed.has(profileId)) {
        listed.add(profileId);
        if (!current.has(profileId)) newcomers.push(member);
      }
    }
    const gone = [...current].filter((id) => !listed.has(id));
    const tooMany = current.size > 0 && gone.length > audience.maxRemovalShare * current.size;

    const enterChange: SourceChange = {
      audience: audience.key,
      segmentId: audience.segmentId,
      change: 'enter',
      via: 'poll',
      at,
    };
    const entered = await this.logMessages(newcomers.map((member) => changeMessage({ member }, enterChange)));
    let exited = 0;
    if (tooMany) {
      await this.deps.store.sources.hold({
        audience: audience.key,
        at,
        size: current.size,
        profileIds: gone,
      });
      this.deps.logger.warn(
        { audience: audience.key, removals: gone.length, size: current.size },
        `Customer.io poll would remove ${gone.length} of ${current.size} members; held until \`handoff sync confirm ${audience.key}\``,
      );
    } else {
      // A poll within the limit supersedes any earlier held removal.
      await this.deps.store.sources.release(audience.key);
      exited = await this.logExits(audience, gone, 'poll');
    }
    const record: PollRecord = {
      audience: audience.key,
      at,
      outcome: tooMany ? 'held' : 'applied',
      members: snapshot.value.members.length,
      entered,
      exited,
      held: tooMany ? gone.length : 0,
      error: undefined,
    };
    await this.deps.store.sources.recordPoll(record);
    return record;
  }

  private async logExits(
    audience: SourcedAudience,
    profileIds: readonly string[],
    via: ChangeOrigin,
  ): Promise<number> {
    const change: SourceChange = {
      audience: audience.key,
      segmentId: audience.segmentId,
      change: 'exit',
      via,
      at: this.deps.clock.now(),
    };
    const messages = [];
    for (const id of profileIds) {
      const profile = await this.deps.store.identity.getProfile(id);
      const message = profile && changeMessage({ profile }, change);
      if (message === undefined)
        this.deps.logger.warn(
          { audience: audience.key, profileId: id },
          'cannot log an exit: the profile has no id',
        );
      messages.push(message);
    }
    return this.logMessages(messages);
  }

  private async logMessages(messages: readonly (Record<string, unknown> | undefined)[]): Promise<number> {
    const valid = messages.filter((m): m is Record<string, unknown> => m !== undefined);
    let stored = 0;
    for (let i = 0; i < valid.length; i += LOG_CHUNK) {
      const result = await this.log(valid.slice(i, i + LOG_CHUNK));
      stored += result.accepted;
      for (const r of result.rejected)
        this.deps.logger.warn(
          { index: i + r.index, error: r.message },
          'a Customer.io membership change was refused',
        );
    }
    return stored;
  }

  private log(messages: readonly Record<string, unknown>[]) {
    return this.deps.ingest.ingest(SEGMENT_SOURCE_ID, messages, { rules: { emailIdentifies: true } });
  }

  /** The profile a Customer.io person maps to: by id, then email, then cio_id. */
  private async profileOf(member: SegmentMember): Promise<string | undefined> {
    return (await this.profilesOf([member]))[0];
  }

  /** Each member's profile, looked up a chunk of members at a time. */
  private async profilesOf(members: readonly SegmentMember[]): Promise<(string | undefined)[]> {
    const out: (string | undefined)[] = [];
    for (let i = 0; i < members.length; i += RESOLVE_CHUNK) {
      const keys = members.slice(i, i + RESOLVE_CHUNK).map((m) => this.keysOf(m));
      const owners = new Map<string, string>();
      const found = await this.deps.store.identity.snapshot(keys.flat());
      for (const profile of found.profiles)
        for (const identifier of profile.identifiers) owners.set(keyOf(identifier), profile.id);
      for (const memberKeys of keys)
        out.push(memberKeys.map((k) => owners.get(keyOf(k))).find((p) => p !== undefined));
    }
    return out;
  }

  private keysOf(member: SegmentMember): IdentifierKey[] {
    const keys: IdentifierKey[] = [];
    if (member.id !== undefined) keys.push({ kind: 'userId', value: member.id });
    if (member.email !== undefined) {
      const email = normalizeEmail(member.email, this.deps.identity.email);
      if (email.ok) keys.push({ kind: 'email', value: email.matchKey });
    }
    if (member.cio_id !== undefined) keys.push({ kind: 'anonymousId', value: cioAnonymousId(member.cio_id) });
    return keys;
  }
}
