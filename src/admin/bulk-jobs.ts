import type { BulkStore } from '../sync/ports.ts';
import type { BulkJobsView } from './bulk-job-schema.ts';

/** Import jobs in flight, with Cordial's progress, and the last `recent` that ended. */
export async function bulkJobs(store: BulkStore, destination: string, recent = 10): Promise<BulkJobsView> {
  const jobs = (await store.recent(destination, 200)).map((j) => ({
    id: j.id,
    list: j.list,
    direction: j.add ? ('add' as const) : ('remove' as const),
    rows: j.rows,
    state: j.state,
    status: j.status ?? null,
    completedItems: j.completedItems ?? null,
    totalItems: j.totalItems ?? null,
    remoteId: j.remoteId ?? null,
    result: j.result
      ? {
          updated: j.result.updated,
          inserted: j.result.inserted,
          ignored: j.result.ignored,
          rejected: j.result.rejected,
          error: j.result.error,
        }
      : null,
    message: j.message ?? null,
    submittedAt: j.submittedAt ?? null,
    endedAt: j.endedAt ?? null,
  }));
  return {
    inFlight: jobs.filter((j) => j.state === 'planned' || j.state === 'running'),
    ended: jobs.filter((j) => j.state === 'done' || j.state === 'failed').slice(0, recent),
  };
}
