import { auditExitCode, buildAudit } from '../monitor/audit.ts';
import type { AuditFormat } from '../monitor/audit-render.ts';
import { AUDIT_FORMATS, renderAudit } from '../monitor/audit-render.ts';
import { parseDuration } from '../shared/duration.ts';
import { auditSource } from '../app/commands.ts';
import { withService } from './app-from-config.ts';
import type { Io } from './config-path.ts';

export interface AuditOptions {
  config?: string;
  since?: string;
  format?: string;
}

const isFormat = (f: string): f is AuditFormat => (AUDIT_FORMATS as readonly string[]).includes(f);

/**
 * `handoff audit`: per audience, size and trend, flow, match rate, stuck members, drift, dead
 * letters and holdout vs treated conversion; a pass/warn/fail line per check. Exit 1 on a fail.
 */
export async function audit(options: AuditOptions, io: Io): Promise<number> {
  const since = parseDuration(options.since ?? '7d');
  if (!since.ok) {
    io.err(`--since: ${since.error.message}`);
    return 2;
  }
  const format = options.format ?? 'md';
  if (!isFormat(format)) {
    io.err(`--format must be one of ${AUDIT_FORMATS.join(', ')} (got ${format})`);
    return 2;
  }
  return withService(options, io, auditSource, async (source) => {
    const now = source.clock.now();
    const report = await buildAudit(source, { now, since: now - since.value });
    io.out(renderAudit(report, format).trimEnd());
    return auditExitCode(report);
  });
}
