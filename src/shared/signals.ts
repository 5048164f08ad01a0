// Signals wake a loop the moment there is work for it, instead of at its next poll: events were
// appended (the processor), changes were committed (the sync outbox reader). Several serve
// processes can share one PostgreSQL database, and the process that appends is often not the one
// that runs the job, so a signal reaches every process on the store. A signal is only a hint: it
// may be lost (a dropped connection) or arrive twice, so every listener's loop also polls on a
// timer and a signal only makes it look sooner.

/** What happened: `events` were appended to the log; `changes` were committed to the outbox. */
export type Signal = 'events' | 'changes';

export const SIGNALS: readonly Signal[] = ['events', 'changes'];

/** The signals port: said in one process, heard in every process on the same store. */
export interface Signals {
  /**
   * Says that `signal` happened (call it after the write committed). Listeners in this process
   * hear it at once; other processes shortly after. Never throws, never waits.
   */
  notify(signal: Signal): void;
  /**
   * Says that a write of the store announced `signal` to the other processes as it committed (an
   * append that stored events announces `events`; a commit that recorded changes, `changes`):
   * only this process's listeners are left to tell, and they hear it at once. Never throws.
   */
  announced(signal: Signal): void;
  /**
   * Calls `listener` for each `signal` from any process, and once more after a lost connection
   * to the other processes is back (what was said meanwhile is not heard). Returns the unsubscribe.
   */
  on(signal: Signal, listener: () => void): () => void;
  /** Stops hearing other processes; resolves once its connection is closed. */
  close(): Promise<void>;
}

/** Listeners by signal; a listener that throws is reported and never breaks the others. */
export class SignalListeners {
  private readonly listeners = new Map<Signal, Set<() => void>>();

  constructor(private readonly onError: (error: unknown) => void = () => {}) {}

  get size(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  add(signal: Signal, listener: () => void): () => void {
    let set = this.listeners.get(signal);
    if (!set) this.listeners.set(signal, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  call(signal: Signal): void {
    for (const listener of this.listeners.get(signal) ?? []) {
      try {
        listener();
      } catch (error) {
        this.onError(error);
      }
    }
  }
}

/** Signals within one process: what SQLite needs, where one serve process owns the file. */
export function inProcessSignals(onError?: (error: unknown) => void): Signals {
  const listeners = new SignalListeners(onError);
  return {
    notify: (signal) => listeners.call(signal),
    announced: (signal) => listeners.call(signal),
    on: (signal, listener) => listeners.add(signal, listener),
    close: () => Promise.resolve(),
  };
}
