import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { IMPORT_FILE_PATH, importFile } from '../sync/destinations/cordial/import-file.ts';
import type { BulkStore } from '../sync/ports.ts';

const TOKEN = /^[A-Za-z0-9_-]{20,100}$/;

/**
 * `GET /bulk/files/<token>.csv`: an import job's file, for Cordial to fetch. No credentials: the
 * token is unguessable and the path answers only while its job is planned or running.
 */
export function bulkFileRoute(server: FastifyInstance, store: BulkStore): void {
  server.get<{ Params: { file: string } }>(`${IMPORT_FILE_PATH}:file`, async (request, res) => {
    const match = /^(.*)\.csv$/.exec(request.params.file);
    const token = match?.[1];
    const file = token !== undefined && TOKEN.test(token) ? await importFile(store, token) : undefined;
    if (!file)
      return res.code(404).send({
        success: false,
        error: { code: 'not_found', message: 'no import file here (the job ended, or never was)' },
      });
    return res
      .header('content-type', 'text/csv; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(Readable.from(file));
  });
}
