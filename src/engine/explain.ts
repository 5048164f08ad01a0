import type { Explanation } from '../audiences/index.ts';
import type { IdentifierKey, IdentityPolicy } from '../identity/model.ts';
import { normalizeEmail, normalizePhone } from '../identity/normalize.ts';
import type { Result } from '../shared/result.ts';
import { fail, ok } from '../shared/result.ts';
import type { EnginePorts } from './ports.ts';
import type { AudienceSet } from './audience-stage.ts';
import { thresholds } from './evaluate-batch.ts';

/** `email:a@b.com`, `phone:+14155552671`, `anonymousId:…`, `profile:<id>`, or a bare userId. */
export function parseProfileRef(
  ref: string,
  policy: IdentityPolicy,
): Result<IdentifierKey | { profileId: string }> {
  const colon = ref.indexOf(':');
  const [prefix, value] = colon === -1 ? ['', ref] : [ref.slice(0, colon), ref.slice(colon + 1)];
  switch (prefix) {
    case 'email': {
      const email = normalizeEmail(value, policy.email);
      return email.ok
        ? ok({ kind: 'email', value: email.matchKey })
        : fail({ code: 'bad_profile', message: `email ${value}: ${email.reason}` });
    }
    case 'phone': {
      const phone = normalizePhone(value, policy.phone.defaultRegion);
      return phone.ok
        ? ok({ kind: 'phone', value: phone.e164 })
        : fail({ code: 'bad_profile', message: `phone ${value}: ${phone.reason}` });
    }
    case 'anonymousId':
    case 'anon':
      return ok({ kind: 'anonymousId', value });
    case 'profile':
      return ok({ profileId: value });
    case 'userId':
      return ok({ kind: 'userId', value });
    default:
      return ok({ kind: 'userId', value: ref });
  }
}

/** One audience's verdict for a profile, with the reasons. */
export interface AudienceVerdict {
  audience: string;
  name: string;
  member: boolean;
  since?: number;
  heldOut?: boolean;
  nextChangeAt: number | null;
  explanation: Explanation;
}

/** Why a profile is or is not in each audience at `now`, and when that can next change. */
export async function explainProfile(
  store: EnginePorts,
  set: AudienceSet,
  profileId: string,
  now: number,
): Promise<AudienceVerdict[]> {
  const record = (await store.audiences.load([profileId])).get(profileId)!;
  const state = record.state ?? set.compiled.emptyState();
  const limits = await thresholds(store, set);
  const ctx = {
    trait: (name: string) => record.traits[name]?.value,
    topPercentThreshold: (id: string) => limits.get(id),
    sourceMember: (key: string) => record.memberships.has(key),
  };
  const verdicts: AudienceVerdict[] = [];
  for (const key of set.sourced) {
    const membership = record.memberships.get(key);
    const segment = set.definitions.get(key)?.source?.customerio?.segmentId;
    const member = membership !== undefined;
    verdicts.push({
      audience: key,
      name: set.definitions.get(key)?.name ?? key,
      member,
      ...(membership ? { since: membership.since, heldOut: membership.heldOut } : {}),
      nextChangeAt: null,
      explanation: {
        text: `${member ? 'in' : 'not in'} Customer.io segment ${segment}, as its last poll or webhook said`,
        value: member,
        nextChangeAt: null,
        children: [],
      },
    });
  }
  for (const key of set.compiled.keys) {
    const explained = set.compiled.explain(state, ctx, now, key);
    if (!explained.ok) continue;
    const membership = record.memberships.get(key);
    verdicts.push({
      audience: key,
      name: set.definitions.get(key)?.name ?? key,
      member: explained.value.value,
      ...(membership ? { since: membership.since, heldOut: membership.heldOut } : {}),
      nextChangeAt: explained.value.nextChangeAt ?? null,
      explanation: explained.value,
    });
  }
  return verdicts;
}
