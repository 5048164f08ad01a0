import type { CheckResult } from './checks.ts';
import { trafficLine } from './audit-traffic.ts';
import type { AuditAudience, AuditReport } from './audit.ts';
import type { Difference, Proportion } from './stats.ts';

export const AUDIT_FORMATS = ['md', 'html', 'json'] as const;
export type AuditFormat = (typeof AUDIT_FORMATS)[number];

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const pct = (f: number | undefined): string =>
  f === undefined ? '–' : Number.isFinite(f) ? `${(f * 100).toFixed(1)}%` : '∞';
const signedPct = (f: number | undefined): string =>
  f === undefined ? '–' : `${f >= 0 ? '+' : ''}${pct(f)}`;
const signed = (n: number | undefined): string => (n === undefined ? '–' : `${n >= 0 ? '+' : ''}${n}`);
const count = (n: number | undefined): string => (n === undefined ? '–' : String(n));

/** `12.5% (2/16) [3.5%, 36.0%]`. */
export const proportionText = (p: Proportion | undefined): string =>
  p === undefined ? '–' : `${pct(p.rate)} (${p.successes}/${p.trials}) [${pct(p.low)}, ${pct(p.high)}]`;

/** `+5.0 pts [-10.1, +20.0]`: percentage points with the 95% interval. */
export const liftText = (d: Difference | undefined): string => {
  if (d === undefined) return '–';
  const pts = (f: number) => `${f >= 0 ? '+' : ''}${(f * 100).toFixed(1)}`;
  return `${pts(d.estimate)} pts [${pts(d.low)}, ${pts(d.high)}]`;
};

const matchText = (a: AuditAudience): string =>
  a.matchRate.length === 0 ? '–' : a.matchRate.map((m) => `${pct(m.rate)} (${m.destination})`).join(', ');

/** `FAIL stuck_members cart: 1 member(s) …`, one per check. */
export function checkLine(c: CheckResult): string {
  const subject = [c.audience, c.destination].filter((s) => s !== '').join(' → ');
  return `${c.status.toUpperCase()} ${c.check}${subject ? ` ${subject}` : ''}: ${c.message}`;
}

function summary(report: AuditReport): string {
  const { pass, warn, fail } = report.counts;
  return `${report.status.toUpperCase()}: ${fail} fail, ${warn} warn, ${pass} pass`;
}

const AUDIENCE_COLUMNS = [
  'audience',
  'size',
  'trend',
  'held out',
  'enters',
  'exits',
  'match rate',
  'stuck',
  'drift',
  'dead letters',
  'status',
];

function audienceCells(a: AuditAudience): string[] {
  return [
    `${a.key} (${a.name})`,
    String(a.size),
    signed(a.trend),
    String(a.heldOut),
    String(a.enters),
    String(a.exits),
    matchText(a),
    count(a.stuck),
    signedPct(a.drift),
    String(a.deadLetters),
    a.status,
  ];
}

function conversionCells(a: AuditAudience): string[] {
  return [
    a.key,
    proportionText(a.conversion.treated),
    proportionText(a.conversion.holdout),
    liftText(a.conversion.lift),
  ];
}

const mdCell = (s: string): string => s.replace(/\|/g, '\\|');
const mdRow = (cells: string[]): string => `| ${cells.map(mdCell).join(' | ')} |`;

export function renderMarkdown(report: AuditReport): string {
  const event = report.audiences[0]?.conversion.event ?? 'conversion';
  const out = [
    `# Handoff audit, ${iso(report.since)} to ${iso(report.generatedAt)}`,
    '',
    `**${summary(report)}**`,
    '',
    '## Audiences',
    '',
    mdRow(AUDIENCE_COLUMNS),
    `|---|${AUDIENCE_COLUMNS.slice(1)
      .map(() => '---:')
      .join('|')}|`,
    ...report.audiences.map((a) => mdRow(audienceCells(a))),
    '',
    `## Holdout vs treated: share that performed ${event} after entering (95% CI)`,
    '',
    mdRow(['audience', 'treated', 'holdout', 'lift']),
    '|---|---:|---:|---:|',
    ...report.audiences.map((a) => mdRow(conversionCells(a))),
    '',
    '## Destinations',
    '',
    ...report.destinations.map((t) => `- ${trafficLine(t)}`),
    '',
    '## Checks',
    '',
    ...report.lines.map((l) => `- ${checkLine(l)}`),
  ];
  return out.join('\n') + '\n';
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const htmlTable = (head: string[], rows: string[][]): string =>
  `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;

export function renderHtml(report: AuditReport): string {
  const event = report.audiences[0]?.conversion.event ?? 'conversion';
  const title = `Handoff audit, ${iso(report.since)} to ${iso(report.generatedAt)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}.fail{color:#b00020}.warn{color:#a15c00}.pass{color:#1b5e20}</style>
</head><body>
<h1>${esc(title)}</h1>
<p class="${report.status}"><strong>${esc(summary(report))}</strong></p>
<h2>Audiences</h2>
${htmlTable(AUDIENCE_COLUMNS, report.audiences.map(audienceCells))}
<h2>Holdout vs treated: share that performed ${esc(event)} after entering (95% CI)</h2>
${htmlTable(['audience', 'treated', 'holdout', 'lift'], report.audiences.map(conversionCells))}
<h2>Destinations</h2>
<ul>
${report.destinations.map((t) => `<li>${esc(trafficLine(t))}</li>`).join('\n')}
</ul>
<h2>Checks</h2>
<ul>
${report.lines.map((l) => `<li class="${l.status}">${esc(checkLine(l))}</li>`).join('\n')}
</ul>
</body></html>
`;
}

/** JSON with times as ISO strings, absent values as null and an infinite drift as null. */
export function renderJson(report: AuditReport): string {
  return (
    JSON.stringify(
      { ...report, generatedAt: iso(report.generatedAt), since: iso(report.since) },
      (_key, value: unknown) =>
        value === undefined || (typeof value === 'number' && !Number.isFinite(value)) ? null : value,
      2,
    ) + '\n'
  );
}

export function renderAudit(report: AuditReport, format: AuditFormat): string {
  switch (format) {
    case 'md':
      return renderMarkdown(report);
    case 'html':
      return renderHtml(report);
    case 'json':
      return renderJson(report);
  }
}
