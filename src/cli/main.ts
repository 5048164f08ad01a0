import { Command, CommanderError } from 'commander';
import type { Io } from './config-path.ts';
import { processIo } from './config-path.ts';
import { importFile } from './import.ts';
import { serve } from './serve.ts';
import { validate } from './validate.ts';
import { apply, plan } from './plan.ts';
import { explain } from './explain.ts';
import { docs } from './docs.ts';
import { simulateCommand } from './simulate.ts';
import { testJourneys } from './test-journeys.ts';
import { syncConfirm, syncFlush, syncPlan, syncPoll, syncReconcile, syncRetry, syncStatus } from './sync.ts';
import { configJsonSchema } from '../config/json-schema.ts';
import { demo } from './demo.ts';
import { audit } from './audit.ts';
import { describeFailure } from './failure.ts';
import { quarantineList, quarantineRetry } from './events.ts';
import { storeCopy } from './store-copy.ts';

/** Builds the `handoff` command line; each action resolves to the process exit code. */
export function program(io: Io, setExit: (code: number) => void): Command {
  const cli = new Command('handoff')
    .description(
      'Customer behaviour in, audiences out: Segment-spec ingest, identity, audiences, Cordial sync.',
    )
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride()
    .showHelpAfterError();
  const configOption = [
    '-c, --config <file>',
    'handoff.yaml to use (default: $HANDOFF_CONFIG, ./handoff.yaml, the example)',
  ] as const;

  cli
    .command('serve')
    .description('run ingest, processing and the HTTP API')
    .option(...configOption)
    .option('-p, --port <port>', 'listen on this port instead of server.port')
    .option('--host <host>', 'listen on this address instead of server.host')
    .option('--apply', 'apply changed audience definitions (backfill from the log) before serving')
    .option(
      '--roles <roles>',
      'ingest (HTTP ingest only, no background jobs), jobs (background jobs under leases, with health, metrics and the admin API) or all',
      'all',
    )
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
    .description('check the config and say what to fix; lint audience hygiene')
    .option(...configOption)
    .option('--strict', 'exit 1 when there are hygiene warnings')
    .action((opts) => setExit(validate(opts, io)));

  cli
    .command('plan')
    .description('show who would enter and exit each audience if the configured definitions were applied now')
    .option(...configOption)
    .action(async (opts) => setExit(await plan(opts, io)));

  cli
    .command('apply')
    .description('rebuild audience state from the event log under the configured definitions')
    .option(...configOption)
    .action(async (opts) => setExit(await apply(opts, io)));

  cli
    .command('explain')
    .description('why a profile is or is not in each audience, and when that next changes')
    .requiredOption(
      '--profile <ref>',
      'a userId, or email:<address>, phone:<number>, anonymousId:<id>, profile:<id>',
    )
    .option(...configOption)
    .option('-a, --audience <key>', 'only this audience')
    .option('--at <time>', 'as of this ISO-8601 time (default: now)')
    .option('--json', 'machine-readable output')
    .action(async (opts) => setExit(await explain(opts, io)));

  cli
    .command('simulate')
    .description(
      'run events, or a scripted journey, through the pipeline in memory on a virtual clock; print each membership change as a JSON line',
    )
    .option(...configOption)
    .option('-e, --events <file>', 'a JSONL or CSV file of events, as import reads them')
    .option('-j, --journey <file>', 'a journey for one test profile (YAML or JSON) instead of an event file')
    .option(
      '--until <time>',
      'ISO-8601 time with Z or an offset: simulate up to here (default: until no wake-up is pending, at most 400 days after the last event)',
    )
    .action(async (opts) => setExit(await simulateCommand(opts, io)));

  cli
    .command('test')
    .description(
      'run journey files against the configured audiences and check their expectations; a PASS/FAIL line per journey (exit 1 on a failure, 2 on an invalid file)',
    )
    .argument('[paths...]', 'journey files or directories (default: journeys/ beside the config)')
    .option(...configOption)
    .option('--json', 'machine-readable output')
    .action(async (paths: string[], opts) => setExit(await testJourneys(paths, opts, io)));

  const sync = cli.command('sync').description('Cordial sync: status, dry run, dead letters, reconciliation');
  sync
    .command('status')
    .description(
      'per audience: what Cordial holds, what is pending, unmatched members and dead letters (exit 1 with dead letters)',
    )
    .option(...configOption)
    .option('-a, --audience <key>', 'only this audience')
    .action(async (opts) => setExit(await syncStatus(opts, io)));
  sync
    .command('plan')
    .description('the requests that would be sent right now (a dry run)')
    .option(...configOption)
    .option('-a, --audience <key>', 'only this audience')
    .option('--limit <n>', 'show at most this many requests', '50')
    .action(async (opts) => setExit(await syncPlan(opts, io)));
  sync
    .command('flush')
    .description('read the outbox and send everything due now, then exit (exit 1 with dead letters)')
    .option(...configOption)
    .action(async (opts) => setExit(await syncFlush(opts, io)));
  sync
    .command('retry')
    .description('queue dead letters again')
    .option(...configOption)
    .option('-a, --audience <key>', "only this audience's dead letters")
    .option('--all', 'every dead letter')
    .action(async (opts) => setExit(await syncRetry(opts, io)));
  sync
    .command('reconcile')
    .description('re-assert the desired state of every member and non-member Cordial was told about')
    .option(...configOption)
    .option('-a, --audience <key>', 'only this audience')
    .option(
      '--verify',
      'read each contact back first; report drift, then repair only what drifted (exit 1 on drift or when a contact could not be read)',
    )
    .action(async (opts) => setExit(await syncReconcile(opts, io)));
  sync
    .command('poll')
    .description('poll Customer.io segments now (every sourced audience, or one); exit 1 unless all applied')
    .argument('[audience]', 'a Customer.io-sourced audience key')
    .option(...configOption)
    .action(async (audience: string | undefined, opts) => setExit(await syncPoll(audience, opts, io)));
  sync
    .command('confirm')
    .description('apply the removal a Customer.io poll held back because it was too large')
    .argument('<audience>', 'the audience key')
    .option(...configOption)
    .action(async (audience: string, opts) => setExit(await syncConfirm(audience, opts, io)));

  cli
    .command('audit')
    .description(
      'per audience: size and trend, enters and exits, match rate, stuck members, drift, dead letters, holdout vs treated conversion; a pass/warn/fail line per check (exit 1 on fail)',
    )
    .option(...configOption)
    .option('--since <duration>', 'the period to report on, back from now', '7d')
    .option('--format <format>', 'md, html or json', 'md')
    .action(async (opts) => setExit(await audit(opts, io)));

  const quarantine = cli
    .command('events')
    .description('the event log: events the processor set aside')
    .command('quarantine')
    .description('events quarantined because processing them failed every time');
  quarantine
    .command('list')
    .description('list quarantined events with their errors')
    .option(...configOption)
    .option('--json', 'machine-readable output')
    .action(async (opts) => setExit(await quarantineList(opts, io)));
  quarantine
    .command('retry')
    .description('process quarantined events again, once the cause is fixed (safe beside a running serve)')
    .option(...configOption)
    .option('--offset <n>', 'this event (repeat for more)', (v: string, all: string[]) => [...all, v], [])
    .option('--all', 'every quarantined event')
    .action(async (opts) => setExit(await quarantineRetry(opts, io)));

  cli
    .command('store')
    .description('the store itself: move it between SQLite and PostgreSQL')
    .command('copy')
    .description(
      'copy every table of the SQLite file into an empty PostgreSQL schema (or back), resumable, then compare rows and a checksum per table (exit 1 on a difference)',
    )
    .requiredOption(
      '--to <store>',
      'postgres (from the SQLite file) or sqlite (from PostgreSQL, into a new file)',
    )
    .option(...configOption)
    .option('--sqlite-path <file>', 'the SQLite file (default: storage.sqlite.path)')
    .option(
      '--postgres-url-env <name>',
      'the environment variable holding the PostgreSQL URL (default: storage.postgres.url)',
    )
    .option('--schema <name>', 'the PostgreSQL schema (default: storage.postgres.schema, else handoff)')
    .option('--page-size <rows>', 'rows per transaction', '5000')
    .option(
      '--write <method>',
      'how rows enter PostgreSQL: copy (COPY FROM STDIN) or unnest (INSERT … unnest)',
      'copy',
    )
    .action(async (opts) => setExit(await storeCopy(opts, io)));

  cli
    .command('docs')
    .description(
      'print the audience mapping table (name, purpose, TTL, channels, cadence, holdout, destinations) as Markdown',
    )
    .option(...configOption)
    .action((opts) => setExit(docs(opts, io)));

  cli
    .command('demo')
    .description(
      'send realistic D2C shopping traffic to a running serve (use examples/demo.yaml: audiences fill and drain within minutes)',
    )
    .option(...configOption)
    .option('--url <url>', 'the server (default: from server.host and server.port)')
    .option('--write-key <key>', "a Segment source's write key (default: the config's first Segment source)")
    .option('--rate <n>', 'at most this many events per second', '20')
    .option('--profiles <n>', 'how many shoppers', '200')
    .option('--duration <duration>', 'how long to send for, e.g. 5m', '5m')
    .option('--seed <n>', 'repeat a run exactly (default: random)')
    .action(async (opts) => setExit(await demo(opts, io)));

  cli
    .command('schema')
    .description('print the JSON Schema of handoff.yaml, for editor completion and checking')
    .action(() => {
      io.out(JSON.stringify(configJsonSchema(), null, 2));
      setExit(0);
    });

  return cli;
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let code = 0;
  const cli = program(io, (c) => (code = c));
  try {
    await cli.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    // Never exit without saying what failed; the stack is for a bug report.
    io.err(
      describeFailure(
        argv
          .slice(2)
          .filter((a) => !a.startsWith('-'))
          .slice(0, 2)
          .join(' '),
        error,
      ),
    );
    if (error instanceof Error && error.stack) io.err(error.stack);
    return 1;
  }
  return code;
}
