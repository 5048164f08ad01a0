import { z } from 'zod';

const ms = z.number().int().describe('ms since the epoch');

/** One import job as the dashboard shows it (never its file's token). */
export const bulkJobView = z.object({
  id: z.number().int(),
  list: z.string(),
  direction: z.enum(['add', 'remove']),
  rows: z.number().int(),
  state: z.enum(['planned', 'running', 'done', 'failed']),
  status: z.string().nullable().describe("Cordial's last reported status"),
  completedItems: z.number().int().nullable(),
  totalItems: z.number().int().nullable(),
  remoteId: z.string().nullable().describe("Cordial's job id"),
  result: z
    .object({
      updated: z.number().int(),
      inserted: z.number().int(),
      ignored: z.number().int(),
      rejected: z.number().int(),
      error: z.number().int(),
    })
    .nullable(),
  message: z.string().nullable(),
  submittedAt: ms.nullable(),
  endedAt: ms.nullable(),
});

export const bulkJobsView = z
  .object({
    inFlight: z.array(bulkJobView).describe('import jobs planned or running at Cordial'),
    ended: z.array(bulkJobView).describe('the last import jobs that ended, newest first'),
  })
  .describe('Cordial import jobs for large change sets');

export type BulkJobsView = z.infer<typeof bulkJobsView>;
