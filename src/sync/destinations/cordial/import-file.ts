import type { ImportFiles } from '../../destination.ts';
import type { BulkStore } from '../../ports.ts';
import { importColumn } from './imports.ts';

const PAGE = 5_000;

/** One CSV field, quoted when it must be (RFC 4180). */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * The CSV of a job's contacts, a header then one identifier value per line, read from the ledger
 * page by page: the file is the job's rows, so it needs no copy that could disagree with them.
 * Undefined when no planned or running job has this name.
 */
export async function importFile(
  store: BulkStore,
  token: string,
): Promise<AsyncIterable<string> | undefined> {
  const job = await store.byToken(token);
  if (!job) return undefined;
  const first = (await store.contactsOf(job.id, '', 1))[0] ?? 'email:';
  const identifier = first.slice(0, Math.max(0, first.indexOf(':'))) || 'email';
  return (async function* () {
    yield `${importColumn(identifier)}\n`;
    let after = '';
    for (;;) {
      const contacts = await store.contactsOf(job.id, after, PAGE);
      if (contacts.length === 0) return;
      after = contacts.at(-1)!;
      yield contacts.map((c) => `${csvField(c.slice(c.indexOf(':') + 1))}\n`).join('');
    }
  })();
}

/** The path a job's file is served under by Handoff itself. */
export const IMPORT_FILE_PATH = '/bulk/files/';

/**
 * Files Handoff serves itself at `publicBaseUrl` + `/bulk/files/<token>.csv`: the token is 32 random
 * bytes, and the path answers only while the job is planned or running, so there is nothing to delete.
 */
export function servedImportFiles(publicBaseUrl: string): ImportFiles {
  const base = publicBaseUrl.replace(/\/+$/, '');
  return {
    publish: (job) =>
      Promise.resolve({
        transport: base.startsWith('https:') ? 'HTTPS' : 'HTTP',
        url: `${base}${IMPORT_FILE_PATH}${job.token}.csv`,
      }),
    remove: () => Promise.resolve(),
  };
}
