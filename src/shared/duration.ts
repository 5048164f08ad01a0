import { fail, ok, type Result } from './result.ts';

/** Milliseconds per duration unit, largest first (the order compound durations must follow). */
const UNITS = [
  ['w', 7 * 24 * 60 * 60 * 1000],
  ['d', 24 * 60 * 60 * 1000],
  ['h', 60 * 60 * 1000],
  ['m', 60 * 1000],
  ['s', 1000],
  ['ms', 1],
] as const;

const UNIT_MS = new Map<string, number>(UNITS);
const PART = /(\d+)(ms|s|m|h|d|w)/y;
const EXAMPLES = 'e.g. 500ms, 30s, 15m, 4h, 7d, 2w, or a compound like 1h30m';

/**
 * Parses a duration such as `4h`, `7d` or `1h30m` into milliseconds. Integers only, units
 * largest first, each at most once, so a reviewer reads exactly one meaning into it.
 */
export function parseDuration(text: string): Result<number> {
  const invalid = (why: string): Result<never> =>
    fail({ code: 'invalid_duration', message: `invalid duration "${text}": ${why} (${EXAMPLES})` });
  const trimmed = text.trim();
  if (trimmed === '') return invalid('it is empty');
  let total = 0;
  let position = 0;
  let previousRank = -1;
  while (position < trimmed.length) {
    PART.lastIndex = position;
    const match = PART.exec(trimmed);
    if (match === null) return invalid('write whole numbers followed by a unit');
    const [, digits = '', unit = ''] = match;
    const rank = UNITS.findIndex(([name]) => name === unit);
    if (rank <= previousRank) return invalid('put units largest first, each once');
    previousRank = rank;
    total += Number(digits) * (UNIT_MS.get(unit) ?? 0);
    position = PART.lastIndex;
  }
  if (!Number.isSafeInteger(total)) return invalid('it is too large');
  return ok(total);
}

/**
 * Formats milliseconds as the shortest compound duration (`5400000` → `1h30m`). Stops at days,
 * because operators write `60d`, not `8w4d`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let text = '';
  for (const [unit, size] of UNITS) {
    if (unit === 'w') continue;
    const amount = Math.floor(rest / size);
    if (amount > 0) {
      text += `${amount}${unit}`;
      rest -= amount * size;
    }
  }
  return text;
}
