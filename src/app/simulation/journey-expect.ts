// Expectations in a journey file: who is in and out of which audiences at an instant, or right
// after a named step, so a journey can be run as a test (`handoff test`).
import { z } from 'zod';
import type { ConfigProblem } from '../../config/load.ts';
import { parseDuration } from '../../shared/duration.ts';
import { pathText } from '../../shared/yaml-position.ts';
import { isZonedTime } from '../../shared/zoned-time.ts';
import type { JourneyStep } from './model.ts';

const audienceKeys = z.union([
  z
    .string()
    .min(1)
    .transform((key) => [key]),
  z.array(z.string('an audience key, e.g. cart_0_4h').min(1, 'an audience key, e.g. cart_0_4h')),
]);

/** One `expect:` entry as written. */
export const expectationSchema = z
  .strictObject({
    at: z.string('+<duration> after start (e.g. +4h) or an ISO-8601 time with Z or an offset').optional(),
    after: z
      .union([z.string().min(1), z.number()], 'the name of a step, e.g. purchase')
      .transform(String)
      .optional(),
    in: audienceKeys.optional(),
    out: audienceKeys.optional(),
  })
  .superRefine((e, ctx) => {
    if ((e.at === undefined) === (e.after === undefined))
      ctx.addIssue({
        code: 'custom',
        message: 'give exactly one of at (e.g. at: +4h) or after (a step name, e.g. after: purchase)',
      });
    if (e.in === undefined && e.out === undefined)
      ctx.addIssue({ code: 'custom', message: 'list the audiences expected: in: [...], out: [...] or both' });
    for (const key of e.in ?? [])
      if (e.out?.includes(key))
        ctx.addIssue({ code: 'custom', path: ['out'], message: `${key} is expected both in and out` });
  });
export type ExpectationText = z.infer<typeof expectationSchema>;

/** An audience an expectation names, with where it is written. */
export interface ExpectedAudience {
  key: string;
  line?: number;
  column?: number;
}

/** One expectation, resolved against the journey's steps and start. */
export interface Expectation {
  /** Its place in `expect`, 0-based. */
  index: number;
  line?: number;
  column?: number;
  /** As written: `at +4h`, `after purchase`. */
  label: string;
  /** The instant it is checked at (ms). */
  at: number;
  /** How many of the journey's messages (the profile's identify first) are applied when it is checked. */
  position: number;
  in: ExpectedAudience[];
  out: ExpectedAudience[];
}

type Place = (path: (string | number)[]) => { line?: number; column?: number };

/** The instants the steps are applied at: `start` plus the waits up to and including each. */
function stepTimes(start: number, steps: readonly JourneyStep[]): number[] {
  let time = start;
  return steps.map((s) => (s.kind === 'wait' ? (time += s.ms) : time));
}

/** Which step `after: <name>` means: an explicit name first, then a step's shorthand or event. */
function findStep(steps: readonly JourneyStep[], name: string): { index: number } | { problem: string } {
  const where = (indexes: number[]) =>
    `${indexes.map((i) => `steps[${i}]`).join(', ')} are ${indexes.length === 2 ? 'both' : 'all'}`;
  const named = steps.flatMap((s, i) => (s.name === name ? [i] : []));
  if (named.length === 1) return { index: named[0]! };
  if (named.length > 1) return { problem: `${where(named)} named ${name}: give each its own name` };
  const aliased = steps.flatMap((s, i) => (s.name === undefined && s.alias === name ? [i] : []));
  if (aliased.length === 1) return { index: aliased[0]! };
  if (aliased.length > 1)
    return {
      problem: `${where(aliased)} ${name} steps: give the one you mean a name (e.g. name: first-${name.toLowerCase().replace(/\s+/g, '-')}) and write after: that name`,
    };
  const known = [...new Set(steps.flatMap((s) => s.name ?? s.alias ?? []))];
  return { problem: `no step is named ${name}; the steps here answer to ${known.join(', ') || 'no name'}` };
}

/** Resolves `expect:` entries against the journey: their instants and positions, or the problems. */
export function resolveExpectations(
  written: readonly ExpectationText[],
  journey: { start: string; steps: readonly JourneyStep[] },
  place: Place,
): { expectations: Expectation[]; problems: ConfigProblem[] } {
  const start = Date.parse(journey.start);
  const times = stepTimes(start, journey.steps);
  // Messages applied by the end of each step (the profile's identify is the first).
  const applied: number[] = [];
  journey.steps.reduce((n, s) => (applied.push(n + (s.kind === 'wait' ? 0 : 1)), applied.at(-1)!), 1);
  const problems: ConfigProblem[] = [];
  const problem = (path: (string | number)[], message: string) =>
    problems.push({ code: 'journey_invalid', message, path: pathText(path), ...place(path) });
  const named = new Map<string, number>();
  journey.steps.forEach((s, i) => {
    if (s.name === undefined) return;
    const first = named.get(s.name);
    if (first === undefined) named.set(s.name, i);
    else
      problem(
        ['steps', i, 'name'],
        `steps[${first}] is already named ${s.name}: give each step its own name`,
      );
  });
  const expectations: Expectation[] = [];
  written.forEach((e, index) => {
    let at: number | undefined;
    let position: number | undefined;
    if (e.after !== undefined) {
      const found = findStep(journey.steps, e.after);
      if ('problem' in found) problem(['expect', index, 'after'], found.problem);
      else {
        at = times[found.index]!;
        position = applied[found.index]!;
      }
    } else if (e.at !== undefined) {
      at = instant(e.at, start);
      if (at === undefined)
        problem(
          ['expect', index, 'at'],
          `"${e.at}" is not +<duration> after start (e.g. +4h, +1d2h) or an ISO-8601 time with Z or an offset`,
        );
      else if (at < start)
        problem(['expect', index, 'at'], `${e.at} is before the journey starts (${journey.start})`);
      else position = 1 + journey.steps.filter((s, i) => s.kind !== 'wait' && times[i]! <= at!).length;
    }
    if (at === undefined || position === undefined) return;
    const keys = (side: 'in' | 'out') =>
      (e[side] ?? []).map((key, j) => ({ key, ...place(['expect', index, side, j]) }));
    expectations.push({
      index,
      ...place(['expect', index]),
      label: e.after !== undefined ? `after ${e.after}` : `at ${e.at}`,
      at,
      position,
      in: keys('in'),
      out: keys('out'),
    });
  });
  return { expectations, problems };
}

/** `+4h` after `start`, or an absolute ISO time with a zone; undefined when it is neither. */
function instant(text: string, start: number): number | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith('+')) {
    const ms = parseDuration(trimmed.slice(1));
    return ms.ok ? start + ms.value : undefined;
  }
  const absolute = Date.parse(trimmed);
  return isZonedTime(trimmed) ? absolute : undefined;
}

/** The audiences the expectations name that the config does not define, each with its place. */
export function unknownAudiences(
  expectations: readonly Expectation[],
  known: readonly string[],
): ConfigProblem[] {
  const keys = new Set(known);
  return expectations.flatMap((e) =>
    (['in', 'out'] as const).flatMap((side) =>
      e[side].flatMap((a, j) =>
        keys.has(a.key)
          ? []
          : [
              {
                code: 'unknown_audience',
                message: `no audience with key ${a.key} in the config; known: ${known.join(', ')}`,
                path: pathText(['expect', e.index, side, j]),
                ...(a.line !== undefined && { line: a.line, column: a.column }),
              },
            ],
      ),
    ),
  );
}
