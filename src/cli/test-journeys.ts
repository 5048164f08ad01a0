import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config/load.ts';
import { formatProblem, loadConfigFile } from '../config/load.ts';
import { unknownAudiences } from '../app/simulation/journey-expect.ts';
import type { JourneyOutcome } from '../app/simulation/journey-run.ts';
import { runJourney } from '../app/simulation/journey-run.ts';
import type { JourneyPlan } from '../app/simulation/journey.ts';
import { readJourney } from '../app/simulation/journey.ts';
import type { Io } from './config-path.ts';
import { configPath } from './config-path.ts';
import { verdictText } from './explain.ts';

export interface TestOptions {
  config?: string;
  json?: boolean;
}

const JOURNEY_FILE = /\.(ya?ml|json)$/i;
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** One journey file's verdict: run (passed or failed), or refused before it ran. */
type Report =
  | { file: string; status: 'passed' | 'failed'; outcome: JourneyOutcome }
  | { file: string; status: 'invalid'; problems: string[] };

/**
 * `handoff test [paths...]`: runs every journey file (default: journeys/ beside the config)
 * against the configured audiences and checks its expectations. Exit 0 when all pass, 1 when an
 * expectation fails, 2 when a file or the config is invalid.
 */
export async function testJourneys(paths: string[], options: TestOptions, io: Io): Promise<number> {
  const configFile = configPath(options.config, io.env);
  const loaded = loadConfigFile(configFile, io.env);
  if (!loaded.ok) {
    io.err(loaded.error.message);
    return 2;
  }
  const files = journeyFiles(paths.length > 0 ? paths : [join(dirname(configFile), 'journeys')], io);
  if (files === undefined) return 2;
  const reports: Report[] = [];
  for (const file of files) reports.push(await testOne(file, loaded.value));
  const passed = reports.filter((r) => r.status === 'passed').length;
  const failed = reports.length - passed;
  if (options.json) io.out(JSON.stringify({ passed, failed, journeys: reports.map(toJson) }, null, 2));
  else {
    for (const report of reports) print(report, io);
    io.out(`${passed} passed, ${failed} failed`);
  }
  if (reports.some((r) => r.status === 'invalid')) return 2;
  return failed > 0 ? 1 : 0;
}

/** The journey files named, directories read for *.yaml, *.yml and *.json in name order. */
function journeyFiles(paths: string[], io: Io): string[] | undefined {
  const files: string[] = [];
  for (const path of paths) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch {
      io.err(
        `no journey file or directory at ${path}: name one, or put journeys in journeys/ beside the config`,
      );
      return undefined;
    }
    if (!isDirectory) files.push(path);
    else
      files.push(
        ...readdirSync(path)
          .filter((name) => JOURNEY_FILE.test(name))
          .sort()
          .map((name) => join(path, name)),
      );
  }
  if (files.length === 0) io.err(`no journey files (*.yaml, *.yml, *.json) in ${paths.join(', ')}`);
  return files.length > 0 ? files : undefined;
}

async function testOne(file: string, config: Config): Promise<Report> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { file, status: 'invalid', problems: [`cannot read ${file}: ${(error as Error).message}`] };
  }
  const read = readJourney(text, file);
  if (!read.ok) return { file, status: 'invalid', problems: read.error.message.split('\n') };
  const plan: JourneyPlan = read.value;
  const unknown = unknownAudiences(plan.expectations, [...config.audiences.map((a) => a.key)]);
  if (unknown.length > 0)
    return { file, status: 'invalid', problems: unknown.map((p) => formatProblem(file, p)) };
  const outcome = await runJourney(config, plan);
  return { file, status: outcome.passed ? 'passed' : 'failed', outcome };
}

function print(report: Report, io: Io): void {
  if (report.status === 'invalid') {
    io.out(`INVALID ${report.file}`);
    for (const problem of report.problems) io.err(problem);
    return;
  }
  const { results, notices } = report.outcome;
  const failed = results.filter((r) => r.misses.length > 0).length;
  const count = `${results.length} ${results.length === 1 ? 'expectation' : 'expectations'}`;
  io.out(
    report.status === 'passed'
      ? `PASS ${report.file} (${results.length === 0 ? 'no expectations: it only ran' : count})`
      : `FAIL ${report.file} (${failed} of ${count} failed${notices.length > 0 ? `, ${notices.length} messages refused` : ''})`,
  );
  for (const n of notices)
    io.out(`  ${report.file}${n.line === undefined ? '' : `:${n.line}`}: ${n.message}`);
  for (const { expectation: e, misses } of results) {
    for (const miss of misses) {
      const where = `${report.file}${e.line === undefined ? '' : `:${e.line}:${e.column ?? 1}`}`;
      const actual = miss.expected === 'in' ? 'OUT' : 'IN';
      io.out(
        `  ${where}: expect[${e.index}] ${e.label} (${iso(e.at)}): expected ${miss.expected.toUpperCase()} ${miss.audience}, but it is ${actual}`,
      );
      const why = miss.verdict
        ? verdictText(miss.verdict)
        : ['no profile exists: none of the journey’s messages was accepted'];
      for (const line of why) io.out(`    ${line}`);
    }
  }
}

function toJson(report: Report): object {
  if (report.status === 'invalid') return report;
  const { results, notices } = report.outcome;
  return {
    file: report.file,
    status: report.status,
    notices,
    expectations: results.map(({ expectation: e, misses }) => ({
      index: e.index,
      ...(e.line !== undefined && { line: e.line }),
      label: e.label,
      at: iso(e.at),
      passed: misses.length === 0,
      misses: misses.map((m) => ({
        audience: m.audience,
        expected: m.expected,
        actual: m.expected === 'in' ? 'out' : 'in',
        ...(m.verdict && { reasons: verdictText(m.verdict), explanation: m.verdict.explanation }),
      })),
    })),
  };
}
