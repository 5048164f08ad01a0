import { Command, CommanderError } from 'commander';
import type { Io } from './config-path.ts';
import { processIo } from './config-path.ts';
import { importFile } from './import.ts';
import { serve } from './serve.ts';
import { validate } from './validate.ts';

/** Builds the `handoff` command line; each action resolves to the process exit code. */
export function program(io: Io, setExit: (code: number) => void): Command {
  const cli = new Command('handoff')
    .description('Customer behaviour in, audiences out: Segment-spec ingest, identity, audiences, Cordial sync.')
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride()
    .showHelpAfterError();
  const configOption = ['-c, --config <file>', 'handoff.yaml to use (default: $HANDOFF_CONFIG, ./handoff.yaml, the example)'] as const;

  cli
    .command('serve')
    .description('run ingest, processing and the HTTP API')
    .option(...configOption)
    .option('-p, --port <port>', 'listen on this port instead of server.port')
    .option('--host <host>', 'listen on this address instead of server.host')
    .action(async (opts) => setExit(await serve(opts, io)));

  cli
    .command('import')
    .description('import a JSONL (Segment-spec messages) or CSV (header row) file of events')
    .argument('<file>', 'the file; .jsonl/.ndjson or .csv')
    .option(...configOption)
    .option('-s, --source <id>', 'the source to record the events under (default: the first configured)')
    .option('-f, --format <format>', 'jsonl or csv (default: from the file extension)')
    .option('--no-process', 'only append to the event log; leave identity resolution to a running serve')
    .action(async (file: string, opts) => setExit(await importFile(file, opts, io)));

  cli
    .command('validate')
    .description('check the config and say what to fix')
    .option(...configOption)
    .action((opts) => setExit(validate(opts, io)));

  return cli;
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let code = 0;
  const cli = program(io, (c) => (code = c));
  try {
    await cli.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return code;
}
