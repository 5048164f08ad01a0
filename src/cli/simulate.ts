import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseJourney, isZonedTime } from '../app/simulation/journey.ts';
import type { SimulationInput, SimulationNotice } from '../app/simulation/simulation.ts';
import { simulate } from '../app/simulation/simulation.ts';
import { detectFormat, parseImportLines } from '../ingest/import-file.ts';
import type { Io } from './config-path.ts';
import { loadConfigOrReport } from './config-path.ts';

export interface SimulateOptions {
  config?: string;
  /** A JSONL or CSV file of events, as `import` reads them. */
  events?: string;
  /** A journey file for one test profile (YAML or JSON). */
  journey?: string;
  /** ISO-8601 time with a zone: nothing after it is simulated. */
  until?: string;
  /** Commit each message on its own (the reference the batched path is checked against). */
  oneAtATime?: boolean;
}

/**
 * `handoff simulate`: runs events (or a journey) through the whole pipeline in memory on a virtual
 * clock and prints each membership change as one JSON line. Exit 0; 1 if any input was rejected;
 * 2 when it cannot start.
 */
export async function simulateCommand(options: SimulateOptions, io: Io): Promise<number> {
  if ((options.events === undefined) === (options.journey === undefined)) {
    io.err('give exactly one of --events <file.jsonl|file.csv> or --journey <file.yaml>');
    return 2;
  }
  let until: number | undefined;
  if (options.until !== undefined) {
    if (!isZonedTime(options.until)) {
      io.err(
        `--until "${options.until}" is not an ISO-8601 time with Z or an offset, e.g. 2026-12-06T02:10:00Z`,
      );
      return 2;
    }
    until = Date.parse(options.until);
  }
  const config = loadConfigOrReport(options.config, io);
  if (!config) return 2;
  const inputs =
    options.events !== undefined ? await eventFile(options.events, io) : journeyFile(options.journey!, io);
  if (inputs === undefined) return 2;

  let rejected = 0;
  let afterUntil = 0;
  const onNotice = (notice: SimulationNotice) => {
    if (notice.kind === 'after_until') afterUntil += 1;
    else io.err(`${notice.line === undefined ? '' : `line ${notice.line}: `}${notice.message}`);
    if (notice.kind === 'rejected') rejected += 1;
  };
  try {
    for await (const change of simulate(config, inputs.messages, {
      ...(until !== undefined && { until }),
      ...(options.oneAtATime && { oneAtATime: true }),
      onNotice,
    }))
      io.out(JSON.stringify(change));
  } catch (error) {
    io.err(`simulation failed: ${(error as Error).message}`);
    return 2;
  } finally {
    inputs.close();
  }
  if (afterUntil > 0)
    io.err(`${afterUntil} ${afterUntil === 1 ? 'event' : 'events'} stamped after --until not simulated`);
  return rejected + inputs.rejected > 0 ? 1 : 0;
}

interface Inputs {
  messages: AsyncIterable<SimulationInput> | Iterable<SimulationInput>;
  /** Lines that never became a message (unparseable), counted as the messages are read. */
  rejected: number;
  close(): void;
}

async function eventFile(path: string, io: Io): Promise<Inputs | undefined> {
  const format = detectFormat(path);
  if (!format.ok) {
    io.err(format.error.message);
    return undefined;
  }
  const stream = createReadStream(path, { encoding: 'utf8' });
  try {
    // Open errors (a missing file) surface here, as a clear message, not mid-simulation.
    await new Promise<void>((resolve, reject) => stream.once('ready', resolve).once('error', reject));
  } catch (error) {
    io.err(`cannot read ${path}: ${(error as Error).message}`);
    return undefined;
  }
  const inputs: Inputs = { rejected: 0, messages: [], close: () => stream.destroy() };
  inputs.messages = (async function* () {
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    for await (const record of parseImportLines(lines, format.value)) {
      if ('error' in record) {
        // Reported in file order, between the changes of the lines around it.
        io.err(`line ${record.line}: ${record.error}`);
        inputs.rejected += 1;
      } else yield record;
    }
  })();
  return inputs;
}

function journeyFile(path: string, io: Io): Inputs | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    io.err(`cannot read ${path}: ${(error as Error).message}`);
    return undefined;
  }
  const journey = parseJourney(text, path);
  if (!journey.ok) {
    io.err(journey.error.message);
    return undefined;
  }
  return { messages: journey.value, rejected: 0, close: () => {} };
}
