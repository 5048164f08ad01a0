/** How the dashboard writes numbers and times. */

export const count = (n: number): string => n.toLocaleString('en-US');

export const percent = (share: number | null | undefined): string =>
  share === null || share === undefined ? '—' : `${(share * 100).toFixed(1)}%`;

export const time = (ms: number | null | undefined): string =>
  ms === null || ms === undefined
    ? '—'
    : new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');

const pad = (n: number): string => String(n).padStart(2, '0');

/** The time in this browser's zone with its offset: `2026-12-07 02:27:45 (UTC+01:00)`. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const zone = `UTC${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} (${zone})`;
}

/**
 * A time as the dashboard shows it everywhere: UTC in the text, the local time and its offset on
 * hover (`title`).
 */
export function when(ms: number | null | undefined): HTMLElement | string {
  if (ms === null || ms === undefined) return '—';
  const el = document.createElement('time');
  el.dateTime = new Date(ms).toISOString();
  el.title = `local: ${localTime(ms)}`;
  el.textContent = time(ms);
  return el;
}

/** `42s ago`, `5m ago`, `3h ago`, or the time when it is older than a day. */
export function ago(ms: number | null | undefined, now: number): string {
  if (ms === null || ms === undefined) return 'never';
  const s = Math.round((now - ms) / 1000);
  if (s === 0) return 'just now';
  if (s < 0) return `in ${duration(-s * 1000)}`;
  if (s < 86_400) return `${duration(s * 1000)} ago`;
  return time(ms);
}

/** `850ms`, `12s`, `4m`, `3h`, `2d`. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86_400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}
