/** An expected outcome: a value, or a typed problem with a stable code and a human message. */
export type Result<T, E extends Problem = Problem> = { ok: true; value: T } | { ok: false; error: E };

/** A problem a caller can act on: `code` is stable for programs, `message` says what to fix. */
export interface Problem {
  code: string;
  message: string;
  /** Where the problem is: a JSON path, a line number, a batch index. */
  at?: string | number;
}

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const fail = <E extends Problem>(error: E): Result<never, E> => ({ ok: false, error });

/** Ends every switch over a discriminated union, so a new variant is a compile error. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}

/** An operational failure (not bad input): carries a stable code and the underlying cause. */
export class HandoffError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HandoffError';
  }
}
