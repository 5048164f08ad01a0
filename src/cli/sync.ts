import type { SyncAdmin } from '../app/commands.ts';
import { syncAdmin } from '../app/commands.ts';
import { coalesce } from '../sync/model.ts';
import { underLeases, withService } from './app-from-config.ts';
import type { Io } from './config-path.ts';
import { printJobs } from './sync-jobs.ts';

const DESTINATION = 'cordial';
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

interface SyncOptions {
  config?: string;
  audience?: string;
  all?: boolean;
  verify?: boolean;
  limit?: string;
}

function checkAudience(admin: SyncAdmin, audience: string | undefined, io: Io): boolean {
  if (audience === undefined || admin.targets.some((t) => t.audience === audience)) return true;
  if (admin.segments?.audiences.has(audience)) return true;
  io.err(
    `no audience ${audience} syncs to Cordial; those that do: ${admin.targets.map((t) => t.audience).join(', ')}`,
  );
  return false;
}

/** Commands that process events do so only under the definitions audience state was built with. */
async function definitionsApplied(admin: SyncAdmin, io: Io): Promise<boolean> {
  const definitions = await admin.definitions();
  if (!definitions.ready) io.err(definitions.message);
  return definitions.ready;
}

/** `handoff sync status`: per audience and list, what Cordial holds, what is pending, dead letters. */
export function syncStatus(options: SyncOptions, io: Io): Promise<number> {
  return withService(options, io, syncAdmin, async (admin) => {
    if (!checkAudience(admin, options.audience, io)) return 2;
    const counts = (await admin.ledger.counts(DESTINATION)).filter(
      (c) => options.audience === undefined || c.audience === options.audience,
    );
    io.out('| audience | list | in Cordial | pending | dead letters | unmatched |');
    io.out('|---|---|---:|---:|---:|---:|');
    for (const c of counts)
      io.out(`| ${c.audience} | ${c.list} | ${c.members} | ${c.pending} | ${c.dead} | ${c.unmatched} |`);
    const next = await admin.ledger.nextDueAt(DESTINATION);
    if (next !== null) io.out(`\nnext send due at ${iso(next)}`);
    await printJobs(admin.bulkJobs, DESTINATION, io);
    const dead = await admin.ledger.deadLetters(DESTINATION, options.audience);
    if (dead.length > 0) {
      io.out(
        `\ndead letters (${dead.length}); re-send with \`handoff sync retry --all\` or \`--audience <key>\`:`,
      );
      for (const d of dead.slice(0, Number(options.limit ?? 20))) {
        io.out(
          `- ${d.audience} ${d.contact} ${d.desired ? 'add to' : 'remove from'} ${d.list}: ${d.status ?? 'no response'}${d.errorKey ? ` ${d.errorKey}` : ''} ${d.message} (after ${d.attempts} attempts; request: ${d.request})`,
        );
      }
    }
    const held = await sourceStatus(admin, options.audience, io);
    return dead.length > 0 || held > 0 ? 1 : 0;
  });
}

/** `handoff sync plan`: the requests that would be sent now (a dry run), and what waits for later. */
export function syncPlan(options: SyncOptions, io: Io): Promise<number> {
  return withService(options, io, syncAdmin, async (admin) => {
    if (!checkAudience(admin, options.audience, io)) return 2;
    while (admin.sync && (await admin.sync.worker.pull()) > 0);
    const now = admin.clock.now();
    const due = (await admin.ledger.due(DESTINATION, now, 100_000)).filter(
      (i) => options.audience === undefined || i.audience === options.audience,
    );
    const updates = coalesce(due);
    io.out(`${due.length} change(s) due now, as ${updates.length} request(s):`);
    for (const u of updates.slice(0, Number(options.limit ?? 50))) {
      io.out(`PUT /v2/contacts/${u.contact} ${JSON.stringify(Object.fromEntries(u.lists))}`);
    }
    if (updates.length > Number(options.limit ?? 50))
      io.out(`… and ${updates.length - Number(options.limit ?? 50)} more`);
    const later = (await admin.ledger.items(DESTINATION)).filter(
      (i) => i.state === 'pending' && Math.max(i.dueAt, i.nextAttemptAt) > now,
    );
    if (later.length > 0) {
      const next = Math.min(...later.map((i) => Math.max(i.dueAt, i.nextAttemptAt)));
      io.out(`${later.length} more wait for an activation delay, cadence or retry; the next at ${iso(next)}`);
    }
    return 0;
  });
}

/** `handoff sync flush`: reads the outbox and sends everything due now, then exits (no serve needed). */
export function syncFlush(options: SyncOptions, io: Io): Promise<number> {
  return withService(options, io, syncAdmin, async (admin) => {
    if (!admin.sync) {
      io.err('Cordial is not configured, or its API key is not set: nothing to send to');
      return 2;
    }
    const sync = admin.sync;
    let sent = 0;
    admin.onSent((e) => (sent += e.requests));
    const lease = { claim: admin.claim, names: ['sync:cordial'] as const, command: 'handoff sync flush', io };
    const code = await underLeases(lease, async () => {
      await sync.settle();
      return 0;
    });
    if (code !== 0) return code;
    const counts = await admin.ledger.counts(DESTINATION);
    const pending = counts.reduce((n, c) => n + c.pending, 0);
    const dead = counts.reduce((n, c) => n + c.dead, 0);
    io.out(
      `${sent} contact update(s) sent; ${pending} pending (not yet due, or retrying), ${dead} dead letter(s)`,
    );
    return dead > 0 ? 1 : 0;
  });
}

/** `handoff sync retry --all | --audience <key>`: dead letters back to the queue. */
export function syncRetry(options: SyncOptions, io: Io): Promise<number> {
  return withService(options, io, syncAdmin, async (admin) => {
    if (!options.all && options.audience === undefined) {
      io.err('say which dead letters to re-send: --all, or --audience <key>');
      return 2;
    }
    if (!checkAudience(admin, options.audience, io)) return 2;
    const n = await admin.ledger.retry(DESTINATION, options.audience);
    io.out(`${n} dead letter(s) queued again; a running serve sends them within a second`);
    return 0;
  });
}

/**
 * `handoff sync reconcile [--verify]`: re-asserts the desired state of every member and
 * non-member Cordial was told about; with --verify, first reads each contact back and reports
 * drift, then repairs only what drifted.
 */
export function syncReconcile(options: SyncOptions, io: Io): Promise<number> {
  return withService(options, io, syncAdmin, async (admin) => {
    if (!checkAudience(admin, options.audience, io)) return 2;
    const audience = options.audience === undefined ? {} : { audience: options.audience };
    if (!options.verify) {
      const n = await admin.ledger.reassert(DESTINATION, audience);
      io.out(`${n} (contact, list) states re-asserted; a running serve sends them now`);
      return 0;
    }
    if (!admin.sync) {
      io.err('Cordial is not configured, or its API key is not set: nothing to verify against');
      return 2;
    }
    const sync = admin.sync;
    const lease = {
      claim: admin.claim,
      names: ['sync:cordial'] as const,
      command: 'handoff sync reconcile',
      io,
    };
    return underLeases(lease, async () => {
      const report = await sync.verify(options.audience);
      for (const e of report.exports)
        io.out(
          e.error === undefined
            ? `list ${e.list}: read by export job ${e.jobId} (${e.rows} rows, ${e.members} on the list${e.unknown > 0 ? `, ${e.unknown} of them unknown to Handoff for this list: left as they are` : ''})`
            : `list ${e.list}: the export could not be read: ${e.error}`,
        );
      io.out(
        `read back ${report.checked} of ${report.contacts} contacts: ${report.drift.length} drifted, ${report.unreadable.length} unreadable`,
      );
      for (const d of report.drift.slice(0, Number(options.limit ?? 50))) {
        io.out(
          `- ${d.contact} ${d.list} (${d.audience}): should be ${d.desired ? 'on' : 'off'}, Cordial has ${d.actual === 'no contact' ? 'no such contact' : d.actual ? 'on' : 'off'}`,
        );
      }
      for (const u of report.unreadable.slice(0, 10)) io.out(`- ${u.contact}: could not read: ${u.reason}`);
      const repair = [
        ...new Set([...report.drift.map((d) => d.contact), ...report.unreadable.map((u) => u.contact)]),
      ];
      const n =
        repair.length === 0 ? 0 : await admin.ledger.reassert(DESTINATION, { ...audience, contacts: repair });
      if (n > 0) {
        // A large repair of one list goes as import jobs, run here until they end.
        await sync.drain();
        io.out(`repaired: ${n} (contact, list) states re-sent`);
      }
      if (report.unreadable.length > 0)
        io.err(
          `${report.unreadable.length} of ${report.contacts} contacts could not be read back after retries: their drift is unknown (re-asserted above); run \`handoff sync reconcile --verify\` again`,
        );
      return report.drift.length > 0 || report.unreadable.length > 0 ? 1 : 0;
    });
  });
}

/** Customer.io-sourced audiences: each one's last poll and any removal waiting for confirmation. */
async function sourceStatus(admin: SyncAdmin, audience: string | undefined, io: Io): Promise<number> {
  if (admin.segments === undefined) return 0;
  const polls = new Map((await admin.sourceRecords.lastPolls()).map((p) => [p.audience, p]));
  const held = await admin.sourceRecords.allHeld();
  io.out('\n| sourced audience | segment | last poll | outcome | members | entered | exited | held |');
  io.out('|---|---:|---|---|---:|---:|---:|---:|');
  for (const a of admin.segments.audiences.values()) {
    if (audience !== undefined && a.key !== audience) continue;
    const p = polls.get(a.key);
    io.out(
      p === undefined
        ? `| ${a.key} | ${a.segmentId} | never | | | | | |`
        : `| ${a.key} | ${a.segmentId} | ${iso(p.at)} | ${p.outcome}${p.error ? `: ${p.error}` : ''} | ${p.members} | ${p.entered} | ${p.exited} | ${p.held} |`,
    );
  }
  const shown = held.filter((h) => audience === undefined || h.audience === audience);
  for (const h of shown)
    io.out(
      `\n${h.audience}: a poll at ${iso(h.at)} would remove ${h.profileIds.length} of ${h.size} members; held. Apply it with \`handoff sync confirm ${h.audience}\`; a later poll within the limit replaces it.`,
    );
  return shown.length > 0 ? 1 : 0;
}

/** `handoff sync confirm <audience>`: applies the removal a Customer.io poll held back. */
export function syncConfirm(audience: string, options: SyncOptions, io: Io): Promise<number> {
  return withService(options, io, syncAdmin, async (admin) => {
    if (admin.segments === undefined) {
      io.err('no audience is sourced from a Customer.io segment (or customerio is not configured)');
      return 2;
    }
    if (!(await definitionsApplied(admin, io))) return 2;
    const segments = admin.segments;
    const lease = { claim: admin.claim, names: ['processor'] as const, command: 'handoff sync confirm', io };
    return underLeases(lease, async () => {
      const confirmed = await segments.confirm(audience);
      if (!confirmed.ok) {
        io.err(confirmed.error.message);
        return 2;
      }
      await admin.drain();
      io.out(
        `${confirmed.value.exited} exit(s) applied to ${audience}; a running serve sends them to destinations within a second (or run \`handoff sync flush\`)`,
      );
      return 0;
    });
  });
}

/** `handoff sync poll [audience]`: polls Customer.io now, instead of waiting for the next interval. */
export function syncPoll(audience: string | undefined, options: SyncOptions, io: Io): Promise<number> {
  return withService(options, io, syncAdmin, async (admin) => {
    if (admin.segments === undefined) {
      io.err('no audience is sourced from a Customer.io segment (or customerio is not configured)');
      return 2;
    }
    if (audience !== undefined && !admin.segments.audiences.has(audience)) {
      io.err(
        `${audience} is not sourced from Customer.io; those that are: ${[...admin.segments.audiences.keys()].join(', ')}`,
      );
      return 2;
    }
    if (!(await definitionsApplied(admin, io))) return 2;
    const segments = admin.segments;
    const lease = {
      claim: admin.claim,
      names: ['customerio-segments', 'processor'] as const,
      command: 'handoff sync poll',
      io,
    };
    return underLeases(lease, async () => {
      const polls = audience === undefined ? await segments.pollAll() : [await segments.poll(audience)];
      await admin.drain();
      for (const p of polls) {
        io.out(
          `${p.audience}: ${p.outcome}${p.error ? ` (${p.error})` : ''}; ${p.members} listed, ${p.entered} entered, ${p.exited} exited${p.held ? `, ${p.held} exits held` : ''}`,
        );
      }
      return polls.some((p) => p.outcome !== 'applied') ? 1 : 0;
    });
  });
}
