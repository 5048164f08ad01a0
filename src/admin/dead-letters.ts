import type { AdminServices } from '../app/services.ts';
import { reasonInWords, retryCanHelp } from '../monitor/advice.ts';
import type { Result } from '../shared/result.ts';
import { fail, ok } from '../shared/result.ts';
import type { DeadLetter } from '../sync/ports.ts';
import type { DeadLetterGroup } from './schemas.ts';

const DESTINATION = 'cordial';

/** Dead letters by what went wrong (the reason in words), largest group first. */
export function groupDeadLetters(dead: readonly DeadLetter[]): DeadLetterGroup[] {
  const groups = new Map<string, DeadLetterGroup>();
  for (const d of dead) {
    const reason = reasonInWords(d);
    const id = `${d.status ?? ''}\u0000${d.errorKey ?? ''}\u0000${reason}`;
    const group = groups.get(id) ?? {
      reason,
      status: d.status ?? null,
      errorKey: d.errorKey ?? null,
      message: d.message,
      retryHelps: retryCanHelp(d.status),
      items: [],
    };
    group.items.push({ contact: d.contact, list: d.list, audience: d.audience });
    groups.set(id, group);
  }
  return [...groups.values()].sort((a, b) => b.items.length - a.items.length);
}

/** Chosen dead letters sent again (`retry`) or resolved without sending (`skip`, recorded in the sync log). */
export async function actOnDeadLetters(
  services: AdminServices,
  action: 'retry' | 'skip',
  body: { items: { contact: string; list: string }[]; note?: string | undefined },
): Promise<Result<{ retried: number } | { skipped: number }>> {
  const dead = await services.store.sync.deadLetters(DESTINATION);
  const known = new Set(dead.map((d) => `${d.contact}\u0000${d.list}`));
  const missing = body.items.filter((i) => !known.has(`${i.contact}\u0000${i.list}`));
  if (missing.length === body.items.length)
    return fail({
      code: 'not_found',
      message: `no dead letter for ${missing.map((i) => `${i.contact} on ${i.list}`).join(', ')}; it may have been retried or skipped already`,
    });
  if (action === 'retry')
    return ok({ retried: await services.store.sync.retryDead(DESTINATION, body.items) });
  const note = `skipped from the dashboard${body.note ? `: ${body.note}` : ''}`;
  return ok({
    skipped: await services.store.sync.skipDead(DESTINATION, body.items, services.clock.now(), note),
  });
}
