import type { Result } from '../shared/result.ts';
import { fail, ok } from '../shared/result.ts';
import type { QuarantineStore } from '../store/ports.ts';
import type { QuarantineResponse } from './schemas.ts';

/** Quarantined events as the admin API, the dashboard and the CLI show them. */
export async function quarantineView(store: { quarantine: QuarantineStore }): Promise<QuarantineResponse> {
  const items = await store.quarantine.list();
  return {
    items: items.map((q) => ({
      offset: q.offset,
      sourceId: q.sourceId,
      messageId: q.messageId,
      type: q.type,
      error: { code: q.error.code, message: q.error.message },
      quarantinedAt: q.quarantinedAt,
      attempts: q.attempts,
    })),
  };
}

/**
 * Marks quarantined events for retry: every one, or these offsets (not_found, marking none, when
 * one is not quarantined). Only marks: whichever processor commits next takes them up.
 */
export async function markForRetry(
  store: { quarantine: QuarantineStore },
  request: { offsets?: readonly number[] | undefined; all?: true | undefined },
): Promise<Result<{ marked: number }>> {
  if (request.all) return ok({ marked: await store.quarantine.requestRetry('all') });
  const offsets = [...new Set(request.offsets ?? [])];
  const known = new Set((await store.quarantine.list(Number.MAX_SAFE_INTEGER)).map((q) => q.offset));
  const unknown = offsets.filter((o) => !known.has(o));
  if (unknown.length > 0) {
    return fail({
      code: 'not_found',
      message: `not quarantined: ${unknown.join(', ')}${known.size === 0 ? ' (nothing is quarantined)' : `; quarantined: ${[...known].slice(0, 20).join(', ')}${known.size > 20 ? ', …' : ''}`}`,
    });
  }
  return ok({ marked: await store.quarantine.requestRetry(offsets) });
}
