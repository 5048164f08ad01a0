import type { Clock } from '../shared/clock.ts';
import type { RequestEndpoint, RequestLog, RequestRecord } from './requests.ts';
import { requestOutcome } from './requests.ts';

export interface RequestRecorderOptions {
  log: RequestLog;
  destination: string;
  clock: Clock;
  /** Told when a write to the log fails; the records are dropped (counting never stops a send). */
  onError: (error: unknown) => void;
}

/**
 * Writes each answered request to the request log. Answers that arrive together (concurrent
 * lanes) are written in one transaction on the next turn of the event loop, so counting costs
 * one commit per burst rather than one per request.
 */
export class RequestRecorder {
  private buffer: RequestRecord[] = [];
  private pending: Promise<void> | undefined;

  constructor(private readonly options: RequestRecorderOptions) {}

  record(request: {
    method: RequestRecord['method'];
    endpoint: RequestEndpoint;
    status: number | undefined;
  }): void {
    const { destination, clock } = this.options;
    this.buffer.push({
      destination,
      method: request.method,
      endpoint: request.endpoint,
      outcome: requestOutcome(request.status),
      ...(request.status === undefined ? {} : { status: request.status }),
      at: clock.now(),
    });
    this.pending ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.write());
  }

  /** Resolves once every request recorded so far is in the log (or its write failed and was reported). */
  async flush(): Promise<void> {
    while (this.pending) await this.pending;
  }

  private async write(): Promise<void> {
    const records = this.buffer;
    this.buffer = [];
    try {
      await this.options.log.append(records);
    } catch (error) {
      this.options.onError(error);
    } finally {
      this.pending = undefined;
      if (this.buffer.length > 0)
        this.pending = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.write());
    }
  }
}
