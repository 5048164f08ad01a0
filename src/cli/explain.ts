import type { Explanation } from '../audiences/index.ts';
import { showTime } from '../audiences/describe.ts';
import { definitionDiff, isEmptyDiff } from '../engine/backfill.ts';
import type { AudienceVerdict } from '../engine/explain.ts';
import { explainProfile, parseProfileRef } from '../engine/explain.ts';
import { parseTime } from '../ingest/timestamps.ts';
import { audienceInspector } from '../app/commands.ts';
import { withService } from './app-from-config.ts';
import type { Io } from './config-path.ts';

export interface ExplainOptions {
  config?: string;
  profile: string;
  audience?: string;
  at?: string;
  json?: boolean;
}

const iso = showTime;

function lines(e: Explanation, depth: number, out: string[]): void {
  out.push(`${'  '.repeat(depth)}- ${e.text}`);
  for (const child of e.children) lines(child, depth + 1, out);
}

/** One audience's verdict as `handoff explain` prints it: the IN/OUT line, then the reasons. */
export function verdictText(v: AudienceVerdict): string[] {
  const next =
    v.nextChangeAt === null ? 'only an event can change this' : `next change at ${iso(v.nextChangeAt)}`;
  const since =
    v.since === undefined ? '' : ` since ${iso(v.since)}${v.heldOut ? ' (held out: never sent)' : ''}`;
  const out = [`${v.member ? 'IN ' : 'OUT'} ${v.audience} (${v.name})${since}; ${next}`];
  for (const child of v.explanation.children) lines(child, 1, out);
  return out;
}

/** `handoff explain --profile <ref>`: for each audience, in or out, why, and when that next changes. */
export function explain(options: ExplainOptions, io: Io): Promise<number> {
  return withService(options, io, audienceInspector, async (inspector) => {
    const ref = parseProfileRef(options.profile, inspector.identity);
    if (!ref.ok) {
      io.err(ref.error.message);
      return 2;
    }
    const profile =
      'profileId' in ref.value
        ? await inspector.store.identity.getProfile(ref.value.profileId)
        : await inspector.store.identity.findProfile(ref.value);
    if (!profile) {
      io.err(`no profile is known by ${options.profile}`);
      return 1;
    }
    const now = options.at === undefined ? inspector.clock.now() : parseTime(options.at);
    if (now === undefined) {
      io.err(`--at ${options.at} is not an ISO-8601 time`);
      return 2;
    }
    if (options.audience !== undefined && !inspector.audiences.compiled.keys.includes(options.audience)) {
      io.err(
        `no audience with key ${options.audience}; known: ${inspector.audiences.compiled.keys.join(', ')}`,
      );
      return 2;
    }
    const diff = await definitionDiff(inspector.store, inspector.audiences);
    if (!isEmptyDiff(diff)) {
      io.err(
        `warning: audience definitions changed since they were last applied (${[...diff.added, ...diff.changed, ...diff.removed].join(', ')}); ` +
          'these answers use the configured definitions, which serve will not until `handoff apply`',
      );
    }
    const verdicts = (await explainProfile(inspector.store, inspector.audiences, profile.id, now)).filter(
      (v) => options.audience === undefined || v.audience === options.audience,
    );
    if (options.json) {
      io.out(JSON.stringify({ profile, at: iso(now), audiences: verdicts }, null, 2));
      return 0;
    }
    io.out(
      `profile ${profile.id}: ${profile.identifiers.map((i) => `${i.kind}:${i.address ?? i.value}`).join(', ')}`,
    );
    for (const m of profile.merges) io.out(`  merged ${m.from} into ${m.into} (${m.cause}) at ${iso(m.at)}`);
    io.out(`as of ${iso(now)}`);
    for (const v of verdicts) {
      io.out('');
      for (const line of verdictText(v)) io.out(line);
    }
    return 0;
  });
}
