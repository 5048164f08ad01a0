import type { Clock } from '../../../shared/clock.ts';
import { isRecord } from '../../../shared/is-record.ts';
import type { BulkDestination, RemoteJob, SendResult } from '../../destination.ts';
import type { BulkResult } from '../../ports.ts';
import type { CordialClient } from './client.ts';
import { classify } from './destination.ts';

export interface CordialImportsOptions {
  client: CordialClient;
  clock: Clock;
  /** Cordial's `suppressTriggers`: no message fires on the import's updates. Default true. */
  suppressTriggers?: boolean;
  /** Awaited before every request, so the account's rate limit covers them all. */
  gate?: () => Promise<void>;
}

/** The file column Cordial reads a contact key from: the email address, or the secondary key itself. */
export function importColumn(identifier: string): string {
  return identifier === 'email' ? 'channels.email.address' : identifier;
}

/**
 * Cordial's bulk API: `POST /v2/contactimports` of a one-column file with `lists.addTo` or
 * `lists.removeFrom`, and `GET /v2/jobs/{id}`. Every import is `updateOnly`: with no
 * `subscribeStatus` column, Cordial would subscribe any contact the file created, so contacts it
 * does not have yet are left to the per-contact path, which creates them without a status.
 */
export class CordialImports implements BulkDestination {
  readonly name = 'cordial';
  private readonly gate: () => Promise<void>;

  constructor(private readonly options: CordialImportsOptions) {
    this.gate = options.gate ?? (() => Promise.resolve());
  }

  async startImport(request: {
    list: string;
    add: boolean;
    source: Record<string, unknown>;
    importName: string;
    identifier: string;
  }): Promise<{ result: SendResult; jobId?: string }> {
    const { client, clock } = this.options;
    const body = {
      source: request.source,
      hasHeader: true,
      columns: [importColumn(request.identifier)],
      strategy: 'updateOnly',
      suppressTriggers: this.options.suppressTriggers ?? true,
      importName: request.importName,
      lists: request.add ? { addTo: [request.list] } : { removeFrom: [request.list] },
    };
    await this.gate();
    const res = await client.createImport(body);
    const shown = { ...body, source: { transport: request.source.transport } };
    const result = classify(res, `POST /contactimports ${JSON.stringify(shown)}`, clock.now());
    if (result.outcome.kind !== 'ok' || !res.ok || !isRecord(res.body)) return { result };
    const { jobId } = res.body;
    if (typeof jobId === 'string') return { result, jobId };
    // A 201 whose jobId is an error object: the file could not be reached or read.
    const message =
      isRecord(jobId) && typeof jobId.message === 'string' ? jobId.message : JSON.stringify(jobId);
    return {
      result: {
        ...result,
        outcome: { kind: 'permanent', status: res.status, reason: message },
        record: { ...result.record, message },
      },
    };
  }

  async jobStatus(jobId: string): Promise<{ result: SendResult; job?: RemoteJob }> {
    await this.gate();
    const res = await this.options.client.getJob(jobId);
    const result = classify(res, `GET /jobs/${jobId}`, this.options.clock.now());
    if (result.outcome.kind !== 'ok' || !res.ok || !isRecord(res.body)) return { result };
    const b = res.body;
    if (typeof b.status !== 'string') return { result };
    return {
      result,
      job: {
        status: b.status,
        totalItems: typeof b.totalItems === 'number' ? b.totalItems : undefined,
        completedItems: typeof b.completedItems === 'number' ? b.completedItems : undefined,
        result: isRecord(b.result) ? jobResult(b.result) : undefined,
      },
    };
  }
}

/** Cordial's `result` block of a job, each count 0 when absent. */
export function jobResult(r: Record<string, unknown>): BulkResult {
  const n = (k: string) => (typeof r[k] === 'number' ? r[k] : 0);
  return {
    totalRecords: n('totalRecords'),
    updated: n('updated'),
    inserted: n('inserted'),
    rejected: n('rejected'),
    error: n('error'),
    ignored: n('ignored'),
  };
}
