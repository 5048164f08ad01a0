// The log entries through which a Customer.io segment moves people in and out of its audience:
// Segment-spec track events, so identity resolution finds (or creates) the person exactly as it
// would for any other event, and the engine applies them in log order.
import type { SourceEventNames } from '../../engine/source-membership.ts';
import type { ProfileView } from '../../identity/model.ts';
import { uuidv7 } from '../../shared/ids.ts';
import type { SegmentMember } from './app-api.ts';

/** The track events a segment's enter and exit are logged as; the engine reads them by these names. */
export const SEGMENT_EVENTS: SourceEventNames = {
  entered: 'Customer.io Segment Entered',
  exited: 'Customer.io Segment Exited',
};

/** The event-log source these entries are recorded under. */
export const SEGMENT_SOURCE_ID = 'customerio-segments';

/** How a change was learnt: a poll's diff, a campaign webhook, or an operator's confirmation. */
export type ChangeOrigin = 'poll' | 'webhook' | 'confirmed';

export interface SourceChange {
  audience: string;
  segmentId: number;
  change: 'enter' | 'exit';
  via: ChangeOrigin;
  at: number;
}

/** Who the entry is about: a Customer.io person's identifiers, or a known profile's. */
export type Subject = { member: SegmentMember } | { profile: ProfileView };

/**
 * A track message for one change, or undefined when the subject has no identifier the log can
 * carry. A Customer.io `id` is our userId (as the Track API's identifier is); an email
 * identifies the person when there is no id; a person known only by `cio_id` gets an
 * anonymousId derived from it, so the next poll finds the same profile.
 */
export function changeMessage(subject: Subject, change: SourceChange): Record<string, unknown> | undefined {
  const ids = 'member' in subject ? memberIds(subject.member) : profileIds(subject.profile);
  if (ids === undefined) return undefined;
  return {
    type: 'track',
    event: change.change === 'enter' ? SEGMENT_EVENTS.entered : SEGMENT_EVENTS.exited,
    messageId: uuidv7(change.at),
    timestamp: new Date(change.at).toISOString(),
    ...ids.ids,
    ...(ids.email !== undefined ? { context: { traits: { email: ids.email } } } : {}),
    properties: {
      audience: change.audience,
      segment_id: change.segmentId,
      via: change.via,
      ...('member' in subject && subject.member.cio_id !== undefined
        ? { cio_id: subject.member.cio_id }
        : {}),
    },
  };
}

interface Ids {
  ids: { userId?: string; anonymousId?: string };
  email?: string;
}

function memberIds(member: SegmentMember): Ids | undefined {
  if (member.id !== undefined)
    return { ids: { userId: member.id }, ...(member.email !== undefined ? { email: member.email } : {}) };
  if (member.email !== undefined) return { ids: {}, email: member.email };
  if (member.cio_id !== undefined) return { ids: { anonymousId: cioAnonymousId(member.cio_id) } };
  return undefined;
}

function profileIds(profile: ProfileView): Ids | undefined {
  const of = (kind: string) => profile.identifiers.find((i) => i.kind === kind);
  const userId = of('userId');
  if (userId !== undefined) return { ids: { userId: userId.value } };
  const email = of('email');
  if (email !== undefined) return { ids: {}, email: email.address ?? email.value };
  const anonymousId = of('anonymousId');
  if (anonymousId !== undefined) return { ids: { anonymousId: anonymousId.value } };
  return undefined;
}

/** The anonymousId a person known to Customer.io only by `cio_id` is logged under. */
export const cioAnonymousId = (cioId: string): string => `cio_id:${cioId}`;
