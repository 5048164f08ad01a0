import { createHash, randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { RetryPolicy } from '../../shared/backoff.ts';
import { TRANSIENT_RETRY, backoffMs } from '../../shared/backoff.ts';
import type { Signal, Signals } from '../../shared/signals.ts';
import { SIGNALS, SignalListeners } from '../../shared/signals.ts';
import type { Sql } from './database.ts';

export interface PostgresSignalsOptions {
  /** The store's schema: processes on other schemas of the database do not hear its signals. */
  schema: string;
  /** Waits between attempts to listen again after the connection was lost. Default TRANSIENT_RETRY. */
  retry?: RetryPolicy;
  /** Where a failed NOTIFY or LISTEN is reported (each is retried or made up for by polling). */
  onError?: (error: unknown) => void;
}

/** The channel of a schema's signals: its name when that fits an identifier, else a digest of it. */
export function signalChannel(schema: string): string {
  const plain = `handoff:${schema}`;
  return Buffer.byteLength(plain) <= 63
    ? plain
    : `handoff:${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

/** The NOTIFY a write makes of `signal` as it commits: its channel and this process's payload. */
export type Announcement = (signal: Signal) => { channel: string; payload: string };

/** Signals, and the announcement the store's own writes make inside their statements. */
export interface PostgresSignals extends Signals {
  announcement: Announcement;
}

/**
 * Signals through LISTEN/NOTIFY. `notify` calls this process's listeners at once and sends one
 * NOTIFY on the pool; signals said while one is in flight go as one more after it (at most one
 * in flight per signal, so a burst of commits costs two). The store's appends and commits make
 * their NOTIFY inside their own statements (`announcement`), so the signals they are about cost
 * no statement of their own and go out exactly when the write commits; `announced` then only
 * calls this process's listeners. Other processes' NOTIFYs are heard on
 * a connection of their own, opened at the first `on`; when it drops it is opened again with
 * backoff, and then every listener is called once, for what it missed meanwhile.
 */
export function postgresSignals(sql: Sql, options: PostgresSignalsOptions): PostgresSignals {
  const channel = signalChannel(options.schema);
  const onError = options.onError ?? (() => {});
  const retry = options.retry ?? TRANSIENT_RETRY;
  // This process's own NOTIFYs come back on its LISTEN: it has heard them already.
  const self = randomBytes(6).toString('hex');
  const listeners = new SignalListeners(onError);
  const inFlight = new Set<Signal>();
  const again = new Set<Signal>();
  let client: Sql | undefined;
  let closed = false;
  let connecting: Promise<void> | undefined;
  let lostMeanwhile = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let heardBefore = false;

  const send = (signal: Signal): void => {
    if (inFlight.has(signal)) {
      again.add(signal);
      return;
    }
    inFlight.add(signal);
    sql
      .notify(channel, payload(signal))
      .catch(onError)
      .finally(() => {
        inFlight.delete(signal);
        if (again.delete(signal) && !closed) send(signal);
      });
  };

  const payload = (signal: Signal): string => `${signal} ${self}`;

  const heard = (from: string, payload: string): void => {
    if (from !== channel) return;
    const [signal, sender] = payload.split(' ');
    if (sender === self || !SIGNALS.includes(signal as Signal)) return;
    listeners.call(signal as Signal);
  };

  const listen = (): void => {
    if (closed || retryTimer !== undefined) return;
    if (connecting) {
      lostMeanwhile = true;
      return;
    }
    connecting = (async () => {
      lostMeanwhile = false;
      client ??= postgres({
        ...sql.options,
        max: 1,
        idle_timeout: null,
        max_lifetime: null,
        fetch_types: false,
        connection: { ...sql.options.connection, application_name: 'handoff-signals' },
        onnotify: heard,
        onclose: () => listen(),
      } as unknown as postgres.Options<Record<string, postgres.PostgresType>>) as unknown as Sql;
      try {
        await client.unsafe(`LISTEN "${channel.replace(/"/g, '""')}"`);
      } catch (error) {
        if (closed) return;
        onError(error);
        retryTimer = setTimeout(
          () => {
            retryTimer = undefined;
            listen();
          },
          backoffMs(retry, ++failures),
        );
        retryTimer.unref();
        return;
      }
      failures = 0;
      // Signals said while this process was not listening are lost: every listener looks once.
      if (heardBefore && !closed) for (const signal of SIGNALS) listeners.call(signal);
      heardBefore = true;
    })().finally(() => {
      connecting = undefined;
      if (lostMeanwhile) listen();
    });
  };

  return {
    notify(signal) {
      listeners.call(signal);
      if (!closed) send(signal);
    },
    announced(signal) {
      listeners.call(signal);
    },
    announcement: (signal) => ({ channel, payload: payload(signal) }),
    on(signal, listener) {
      const off = listeners.add(signal, listener);
      if (client === undefined) listen();
      return off;
    },
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      await connecting;
      await client?.end({ timeout: 1 });
    },
  };
}
