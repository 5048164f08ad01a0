import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export function osThreadId(): number | undefined {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) each thread of this process has used, by OS thread id; empty off Linux. */
export function cpuByThread(): Map<number, number> {
  const seconds = new Map<number, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after the parenthesised name: state is the first, utime the 12th, stime the 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      seconds.set(Number(tid), (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS);
    }
  } catch {
    // Not Linux: the split is left out of the report.
  }
  return seconds;
}
/** Linux's USER_HZ, the unit of /proc's CPU times, on every common platform. */
const CLOCK_TICKS = 100;

/**
 * Cores each part of the run kept busy: the server's main thread, the threads started during the
 * run (the ingest parse workers), the clients' thread, and the rest (GC and libuv helpers).
 */
export function cpuSplit(
  before: Map<number, number>,
  after: Map<number, number>,
  seconds: number,
  clientThread: number | undefined,
): { main: number; started: number; startedThreads: number; clients: number; other: number } | undefined {
  if (after.size === 0) return undefined;
  const split = { main: 0, started: 0, startedThreads: 0, clients: 0, other: 0 };
  for (const [tid, cpu] of after) {
    const used = (cpu - (before.get(tid) ?? 0)) / seconds;
    if (tid === process.pid) split.main += used;
    if (tid === clientThread && tid !== process.pid) split.clients += used;
    else if (!before.has(tid)) {
      split.started += used;
      split.startedThreads++;
    } else if (tid !== process.pid) split.other += used;
  }
  if (clientThread === process.pid) split.clients = split.main;
  return split;
}

/** C loops, each taking the next body until none are left. */
