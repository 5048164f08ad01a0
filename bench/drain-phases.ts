// Where a processor's drain spends its time: the store calls it makes, the rest, and the
// collector's pauses. Used by bench/engine.ts.
import type { PerformanceEntry } from 'node:perf_hooks';
import { PerformanceObserver, constants as perf } from 'node:perf_hooks';
import type { Store } from '../src/store/ports.ts';
import { fmt } from './lib.ts';

/** Seconds of a drain spent in each store call the processor makes, and in garbage collection. */
export interface Phases {
  read: number;
  snapshot: number;
  records: number;
  history: number;
  commit: number;
  minorGc: number;
  majorGc: number;
}

/**
 * Times the store calls a drain makes (they run synchronously, so a call's time is its own) and
 * the collector's pauses, which fall inside any of them. `stop()` returns the totals so far.
 */
export function timePhases(store: Store): { stop: () => Phases } {
  const phases: Phases = { read: 0, snapshot: 0, records: 0, history: 0, commit: 0, minorGc: 0, majorGc: 0 };
  const timed =
    <A extends unknown[], R>(phase: keyof Phases, f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const started = performance.now();
      try {
        return await f(...a);
      } finally {
        phases[phase] += (performance.now() - started) / 1000;
      }
    };
  store.events.readAfter = timed('read', store.events.readAfter.bind(store.events));
  store.identity.snapshot = timed('snapshot', store.identity.snapshot.bind(store.identity));
  store.audiences.load = timed('records', store.audiences.load.bind(store.audiences));
  store.audiences.history = timed('history', store.audiences.history.bind(store.audiences));
  store.commit = timed('commit', store.commit.bind(store));
  const add = (entries: readonly PerformanceEntry[]): void => {
    for (const e of entries) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === perf.NODE_PERFORMANCE_GC_MINOR) phases.minorGc += e.duration / 1000;
      else phases.majorGc += e.duration / 1000;
    }
  };
  const observer = new PerformanceObserver((list) => add(list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop: () => {
      add(observer.takeRecords());
      observer.disconnect();
      return { ...phases };
    },
  };
}

/** Where a drain's time went, in seconds; the rest is resolution, evaluation and parsing. */
export function describePhases(p: Phases, seconds: number): string {
  const stored = p.read + p.snapshot + p.records + p.history + p.commit;
  const s = (v: number): string => `${fmt(v, 2)} s`;
  return `where the time went: reading the log ${s(p.read)}, identity snapshots ${s(p.snapshot)}, profile records ${s(p.records)}, histories ${s(p.history)}, commits ${s(p.commit)}; the rest (resolution, evaluation, parsing) ${s(seconds - stored)}; collector pauses within all of these: minor ${s(p.minorGc)}, major and incremental ${s(p.majorGc)}`;
}
