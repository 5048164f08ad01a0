import type { AdminServices } from '../app/services.ts';
import type { MemberStanding, Standing } from '../store/ports.ts';
import type { Result } from '../shared/result.ts';
import { fail, ok } from '../shared/result.ts';
import type { MatchBreakdown, OverlapResponse, ProfilesResponse } from './schemas.ts';

const DESTINATION = 'cordial';

const unknownAudience = (services: AdminServices, key: string) =>
  fail({
    code: 'not_found',
    message: `no audience with key ${key}; known: ${services.config.audiences.map((a) => a.key).join(', ')}`,
  });

/** How many members of a syncing audience are held, pending, without an email, refused and held out. */
export function matchBreakdown(
  services: AdminServices,
  key: string,
  members: readonly MemberStanding[],
): MatchBreakdown | null {
  const target = services.config.targets.find((t) => t.audience === key);
  if (target === undefined) return null;
  const n = (standing: Standing) => members.filter((m) => m.standing === standing).length;
  return {
    destination: DESTINATION,
    list: target.target.list,
    held: n('held'),
    pending: n('pending'),
    noIdentifier: n('no_identifier'),
    refused: n('refused'),
    heldOut: n('held_out'),
  };
}

/** A syncing audience's breakdown, read from the store; null when it does not sync. */
export async function audienceMatch(services: AdminServices, key: string): Promise<MatchBreakdown | null> {
  if (!services.config.targets.some((t) => t.audience === key)) return null;
  return matchBreakdown(services, key, await services.store.admin.memberStanding(DESTINATION, key));
}

/** The members behind a number: by standing at Cordial, and/or also in another audience. */
export async function audienceProfiles(
  services: AdminServices,
  key: string,
  filter: { standing?: Standing | undefined; alsoIn?: string | undefined },
): Promise<Result<ProfilesResponse>> {
  if (!services.config.audiences.some((a) => a.key === key)) return unknownAudience(services, key);
  if (filter.alsoIn !== undefined && !services.config.audiences.some((a) => a.key === filter.alsoIn))
    return unknownAudience(services, filter.alsoIn);
  const members = await services.store.admin.memberStanding(DESTINATION, key, filter.alsoIn);
  const syncs = services.config.targets.some((t) => t.audience === key);
  return ok({
    audience: key,
    standing: filter.standing ?? null,
    alsoIn: filter.alsoIn ?? null,
    profiles: members
      .filter((m) => filter.standing === undefined || m.standing === filter.standing)
      .map((m) => ({
        profileId: m.profileId,
        label: m.label ?? null,
        since: m.since,
        // Without a destination, only held out means anything.
        standing: syncs || m.standing === 'held_out' ? m.standing : null,
      })),
  });
}

const cell = (value: string | number | null): string => {
  const text = value === null ? '' : String(value);
  // Quote what a spreadsheet would split or run as a formula.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

/** The profiles list as CSV: one row per profile, times in ISO 8601 UTC. */
export function profilesCsv(value: ProfilesResponse): string {
  const rows = value.profiles.map((p) =>
    [p.profileId, p.label, new Date(p.since).toISOString(), p.standing].map(cell).join(','),
  );
  return ['profile_id,label,since,standing', ...rows].join('\r\n') + '\r\n';
}

/** Members shared by every pair of audiences, with each audience's size for the diagonal. */
export async function overlapView(services: AdminServices): Promise<OverlapResponse> {
  const sizes = new Map((await services.store.admin.memberCounts()).map((c) => [c.audience, c.members]));
  return {
    audiences: services.config.audiences.map((a) => ({ key: a.key, size: sizes.get(a.key) ?? 0 })),
    pairs: await services.store.admin.overlap(),
  };
}
