import { claimForCommand } from '../app/jobs.ts';
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { SingleBar } from 'cli-progress';
import type { App } from '../app/app.ts';
import { openApp } from '../app/app.ts';
import { storeFailure } from './serve-startup.ts';
import { checkDefinitions } from '../app/definitions.ts';
import { detectFormat, parseImportLines } from '../ingest/import-file.ts';
import type { Io } from './config-path.ts';
import { loadConfigOrReport } from './config-path.ts';

export interface ImportOptions {
  config?: string;
  source?: string;
  format?: 'jsonl' | 'csv';
  /** commander's --no-process */
  process?: boolean;
}

interface Summary {
  accepted: number;
  duplicates: number;
  rejected: { line: number; reason: string }[];
}

const CHUNK = 500;

/** `handoff import <file>`: a JSONL or CSV file of events into the log, with a per-line report. */
export async function importFile(path: string, options: ImportOptions, io: Io): Promise<number> {
  const config = loadConfigOrReport(options.config, io);
  if (!config) return 2;
  let format = options.format;
  if (format === undefined) {
    const detected = detectFormat(path);
    if (!detected.ok) {
      io.err(detected.error.message);
      return 2;
    }
    format = detected.value;
  }
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    io.err(`cannot read ${path}: ${(error as Error).message}`);
    return 2;
  }
  const sourceId = options.source ?? config.sources[0]?.id ?? 'import';
  let app: App;
  try {
    app = await openApp({ config });
  } catch (error) {
    io.err(storeFailure(config, error, 'handoff import'));
    return 2;
  }
  const stream = createReadStream(path, { encoding: 'utf8' });
  const bar = io.isTTY
    ? new SingleBar({ format: 'importing [{bar}] {percentage}% | {value}/{total} bytes' })
    : undefined;
  bar?.start(size, 0);
  const summary: Summary = { accepted: 0, duplicates: 0, rejected: [] };
  let chunk: { line: number; message: Record<string, unknown> }[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    const result = await app.ingest.ingest(
      sourceId,
      chunk.map((c) => c.message),
    );
    summary.accepted += result.accepted;
    summary.duplicates += result.duplicates;
    for (const r of result.rejected) summary.rejected.push({ line: chunk[r.index]!.line, reason: r.message });
    chunk = [];
    bar?.update(stream.bytesRead);
  };
  try {
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    for await (const record of parseImportLines(lines, format)) {
      if ('error' in record) summary.rejected.push({ line: record.line, reason: record.error });
      else chunk.push(record);
      if (chunk.length >= CHUNK) await flush();
    }
    await flush();
    bar?.update(size);
    bar?.stop();
    if (options.process !== false) {
      const definitions = await checkDefinitions(app, { apply: false });
      if (definitions.ready) {
        // Beside a serve holding the processor lease (PostgreSQL), that serve processes them.
        const claim = await claimForCommand(app.store.leases, {
          postgres: app.config.storage.postgres !== undefined,
          names: ['processor'],
          command: 'handoff import',
        });
        if (claim.ok) {
          try {
            await app.processor.drain();
          } finally {
            await claim.release();
          }
        } else io.out(`events stored; ${claim.message.replace(/; run it there.*$/, '')}: it processes them`);
      } else io.err(`events stored but not processed: ${definitions.message}`);
    }
  } finally {
    await app.stop();
  }
  const stored = summary.accepted - summary.duplicates;
  io.out(
    `${path}: ${summary.accepted} accepted (${stored} new, ${summary.duplicates} duplicates), ${summary.rejected.length} rejected`,
  );
  summary.rejected.sort((a, b) => a.line - b.line);
  for (const r of summary.rejected.slice(0, 50)) io.out(`  line ${r.line}: ${r.reason}`);
  if (summary.rejected.length > 50) io.out(`  … and ${summary.rejected.length - 50} more`);
  return summary.rejected.length > 0 ? 1 : 0;
}
