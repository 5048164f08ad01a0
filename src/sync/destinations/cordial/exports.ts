import { isRecord } from '../../../shared/is-record.ts';
import type { ExportDestination, RemoteJob, SendResult } from '../../destination.ts';
import { classify } from './destination.ts';
import type { CordialImportsOptions } from './imports.ts';
import { CordialImports, importColumn } from './imports.ts';

export interface CordialExportsOptions extends CordialImportsOptions {
  /** The account's id, which `POST /v2/contactexports` requires. */
  accountId: number;
}

/**
 * Cordial's `POST /v2/contactexports` of one list: a CSV with a header, the contact key column
 * and the list's column (1 on the list, 0 off it), written by Cordial to `location`. Its job is
 * read at `GET /v2/jobs/{id}` like an import's.
 */
export class CordialExports implements ExportDestination {
  readonly name = 'cordial';
  private readonly jobs: CordialImports;
  private readonly gate: () => Promise<void>;

  constructor(private readonly options: CordialExportsOptions) {
    this.jobs = new CordialImports(options);
    this.gate = options.gate ?? (() => Promise.resolve());
  }

  async startExport(request: {
    list: string;
    identifier: string;
    location: Record<string, unknown>;
    name: string;
  }): Promise<{ result: SendResult; jobId?: string }> {
    const { client, clock } = this.options;
    const body = {
      name: request.name,
      exportType: 'CSV',
      destination: request.location,
      fields: [importColumn(request.identifier)],
      lists: [request.list],
      accountId: this.options.accountId,
      showHeader: true,
      compress: false,
    };
    await this.gate();
    const res = await client.createExport(body);
    const result = classify(res, `POST /contactexports ${JSON.stringify(body)}`, clock.now());
    if (result.outcome.kind !== 'ok' || !res.ok || !isRecord(res.body)) return { result };
    const { jobId } = res.body;
    if (typeof jobId === 'string') return { result, jobId };
    const message = `export accepted without a job id: ${JSON.stringify(res.body)}`;
    return {
      result: {
        ...result,
        outcome: { kind: 'retryable', reason: message },
        record: { ...result.record, message },
      },
    };
  }

  jobStatus(jobId: string): Promise<{ result: SendResult; job?: RemoteJob }> {
    return this.jobs.jobStatus(jobId);
  }
}
