import { formatDuration } from '../shared/duration.ts';
import type { Io } from './config-path.ts';
import { loadConfigOrReport } from './config-path.ts';

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** `handoff docs`: the audience mapping table as Markdown, for the team wiki. */
export function docs(options: { config?: string }, io: Io): number {
  const config = loadConfigOrReport(options.config, io);
  if (!config) return 2;
  io.out('| key | name | purpose | TTL | channels | cadence | activation delay | holdout | destinations |');
  io.out('|---|---|---|---|---|---|---|---|---|');
  for (const a of [...config.audiences].sort(
    (x, y) => y.priority - x.priority || x.key.localeCompare(y.key),
  )) {
    const segment = a.source?.customerio.segmentId;
    const cadence =
      (a.cadence === 'realtime' ? 'realtime' : `every ${formatDuration(a.cadence)}`) +
      (segment === undefined ? '' : ` (Customer.io segment ${segment})`);
    const destinations = (a.destinations ?? []).map((d) => JSON.stringify(d)).join(', ') || '—';
    io.out(
      `| ${a.key} | ${cell(a.name)} | ${cell(a.purpose)} | ${a.ttl === null ? 'none' : formatDuration(a.ttl)} | ${a.channels.join(', ')} | ${cadence} | ${a.activationDelay ? formatDuration(a.activationDelay) : '—'} | ${a.holdout ? `${a.holdout}%` : '—'} | ${cell(destinations)} |`,
    );
  }
  return 0;
}
