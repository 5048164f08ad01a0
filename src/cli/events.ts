import { markForRetry, quarantineView } from '../admin/quarantine.ts';
import { showTime } from '../audiences/describe.ts';
import { quarantineAdmin } from '../app/commands.ts';
import { withService } from './app-from-config.ts';
import type { Io } from './config-path.ts';

export interface QuarantineListOptions {
  config?: string;
  json?: boolean;
}

export interface QuarantineRetryOptions {
  config?: string;
  /** Offsets, as typed (`--offset 12 --offset 40`). */
  offset?: string[];
  all?: boolean;
}

/** `handoff events quarantine list`: events set aside because processing them failed, with the error. */
export function quarantineList(options: QuarantineListOptions, io: Io): Promise<number> {
  return withService(options, io, quarantineAdmin, async (admin) => {
    const view = await quarantineView(admin);
    if (options.json) {
      io.out(JSON.stringify(view, null, 2));
      return 0;
    }
    if (view.items.length === 0) {
      io.out('no quarantined events');
      return 0;
    }
    io.out(`${view.items.length} quarantined event(s): processing them failed every time.`);
    io.out('| offset | source | messageId | type | error | quarantined at | attempts |');
    io.out('|---:|---|---|---|---|---|---:|');
    for (const q of view.items) {
      const error = `${q.error.code}: ${q.error.message}`.replaceAll('|', '\\|').replaceAll('\n', ' ');
      io.out(
        `| ${q.offset} | ${q.sourceId} | ${q.messageId} | ${q.type} | ${error} | ${showTime(q.quarantinedAt)} | ${q.attempts} |`,
      );
    }
    io.out('\nOnce the cause is fixed: `handoff events quarantine retry --all` (or `--offset <n>`).');
    return 0;
  });
}

/**
 * `handoff events quarantine retry`: marks quarantined events for retry, then processes them here
 * (beside a running serve this is safe: each retried event is applied by one process only).
 * Exit 0 when every one processed, 1 when some failed again or wait for another process, 2 on bad options.
 */
export function quarantineRetry(options: QuarantineRetryOptions, io: Io): Promise<number> {
  const offsets = (options.offset ?? []).map(Number);
  if (offsets.length > 0 === (options.all === true)) {
    io.err('give --all, or one --offset <n> per event (see `handoff events quarantine list`)');
    return Promise.resolve(2);
  }
  const bad = options.offset?.find((o) => !/^[1-9]\d*$/.test(o));
  if (bad !== undefined) {
    io.err(`--offset ${bad}: not an event offset (a positive whole number)`);
    return Promise.resolve(2);
  }
  return withService(options, io, quarantineAdmin, async (admin) => {
    const before = (await admin.quarantine.list(Number.MAX_SAFE_INTEGER)).map((q) => q.offset);
    const marked = await markForRetry(admin, options.all ? { all: true } : { offsets });
    if (!marked.ok) {
      io.err(marked.error.message);
      return 2;
    }
    const asked = options.all ? before : offsets;
    // Beside a serve holding the processor lease, that serve processes them; this reports what is left.
    const lease = {
      claim: admin.claim,
      names: ['processor'] as const,
      command: 'handoff events quarantine retry',
      io,
    };
    const claim = await admin.claim(lease.names, lease.command);
    if (claim.ok) {
      try {
        await admin.drain();
      } finally {
        await claim.release();
      }
    } else io.out(`${claim.message.replace(/; run it there.*$/, '')}: it processes them`);
    const after = new Map((await admin.quarantine.list(Number.MAX_SAFE_INTEGER)).map((q) => [q.offset, q]));
    let unsettled = 0;
    for (const offset of asked) {
      const q = after.get(offset);
      if (q === undefined) io.out(`${offset}: processed; it left the quarantine`);
      else if (q.retryRequested) {
        unsettled++;
        io.out(`${offset}: marked for retry; another running processor (serve) will take it up`);
      } else {
        unsettled++;
        io.out(`${offset}: failed again (${q.attempts} attempts): ${q.error.code}: ${q.error.message}`);
      }
    }
    io.out(`${asked.length - unsettled} of ${asked.length} processed`);
    return unsettled === 0 ? 0 : 1;
  });
}
