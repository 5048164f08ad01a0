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
