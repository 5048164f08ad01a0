// Age bands and the instants they change at. Age is `now − timestamp`; every band is half-open
// [from, to), so an event "within 4h" leaves at exactly timestamp + 4h. Ages may be negative
// (a slightly-future timestamp): the definitions apply literally.

/** [from, to) over age in ms; `null` is unbounded on that side. */
export interface AgeBand {
  from: number | null;
  to: number | null;
}

/** The band a condition's `within` / `between` / `olderThan` describes; all time when none is set. */
export function bandOf(node: { within?: number; between?: [number, number]; olderThan?: number }): AgeBand {
  if (node.within !== undefined) return { from: null, to: node.within };
  if (node.between !== undefined) return { from: node.between[0], to: node.between[1] };
  if (node.olderThan !== undefined) return { from: node.olderThan, to: null };
  return { from: null, to: null };
}

export const isAllTime = (band: AgeBand): boolean => band.from === null && band.to === null;

export function inBand(timestamp: number, now: number, band: AgeBand): boolean {
  const age = now - timestamp;
  return (band.from === null || age >= band.from) && (band.to === null || age < band.to);
}

/** The next instant after `now` at which `timestamp` enters or leaves the band; null if never. */
export function nextBandEdge(timestamp: number, now: number, band: AgeBand): number | null {
  for (const edge of [band.from, band.to]) {
    if (edge !== null && timestamp + edge > now) return timestamp + edge;
  }
  return null;
}

export const countInBand = (timestamps: readonly number[], now: number, band: AgeBand): number =>
  timestamps.reduce((n, ts) => (inBand(ts, now, band) ? n + 1 : n), 0);

/**
 * The first instant after `now` at which `decide(count in band)` differs from its value now,
 * assuming no new events; null if time alone never changes it. Sweeps the enter/leave edges in
 * order, so a count that dips and recovers at the same instant is not reported as a change.
 */
export function nextCountChange(
  timestamps: readonly number[],
  now: number,
  band: AgeBand,
  decide: (count: number) => boolean,
): number | null {
  const edges: [at: number, delta: number][] = [];
  for (const ts of timestamps) {
    if (band.from !== null && ts + band.from > now) edges.push([ts + band.from, 1]);
    if (band.to !== null && ts + band.to > now) edges.push([ts + band.to, -1]);
  }
  edges.sort((a, b) => a[0] - b[0]);
  let count = countInBand(timestamps, now, band);
  const current = decide(count);
  for (let i = 0; i < edges.length;) {
    const at = edges[i]![0];
    while (i < edges.length && edges[i]![0] === at) count += edges[i++]![1];
    if (decide(count) !== current) return at;
  }
  return null;
}
