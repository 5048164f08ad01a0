import type { CheckName } from './ports.ts';
import type { CheckResult, CheckStatus } from './checks.ts';

/** What an operator does first about each failing check; README's "Alerts and what to do" has more. */
const NEXT_STEP: Record<CheckName, string> = {
  size: 'no action needed',
  match_rate:
    'run `handoff sync status` for unmatched members and dead letters; `handoff sync reconcile --verify` restores an edited list',
  size_drift:
    'compare enters and exits with ingest volume on the dashboard: a broken source or tracking change is the usual cause',
  stuck_members:
    'run `handoff explain --profile <a member> --audience <key>` to see which condition holds them',
  exit_failures:
    'run `handoff sync status --audience <key>`; once the destination answers, `handoff sync flush`',
  dead_letters:
    'run `handoff sync status` for each refusal and its reason; fix it, then `handoff sync retry --all`',
  overdue_wakeups: 'check the processor: its log for repeated failures, the lag on the dashboard, the disk',
  quarantined_events:
    'run `handoff events quarantine list` for the errors; fix the cause, then `handoff events quarantine retry --all`',
  source_poll:
    'run `handoff sync poll <audience>`: it says why the poll fails (or `handoff sync confirm <audience>` for a held removal)',
};

/** Where a check is about: "audience cart_0_4h at cordial", or "Handoff" for a global one. */
function subject(c: CheckResult): string {
  const parts = [c.audience && `audience ${c.audience}`, c.destination && `at ${c.destination}`].filter(
    Boolean,
  );
  return parts.length > 0 ? parts.join(' ') : 'Handoff';
}

/** A Slack-compatible message (`{ text }`) for a check that changed status. */
export function alertMessage(c: CheckResult, previous: CheckStatus): { text: string } {
  if (c.status === 'pass') {
    return {
      text: `:white_check_mark: RECOVERED: ${c.check} for ${subject(c)} is passing again (was ${previous}). ${c.message}`,
    };
  }
  const icon = c.status === 'fail' ? ':red_circle:' : ':warning:';
  return {
    text:
      `${icon} ${c.status.toUpperCase()}: ${c.check} for ${subject(c)}. ${c.message}. ` +
      `Next step: ${NEXT_STEP[c.check]}.`,
  };
}
