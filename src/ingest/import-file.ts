// The pure half of `handoff import <file>`: lines in, Segment-spec messages (or line-numbered
// errors) out. Reading the file and sending the messages through ingest live with the command.
import { extname } from 'node:path';
import { fail, ok } from '../shared/result.ts';
import type { Result } from '../shared/result.ts';
import { MESSAGE_TYPES } from './messages.ts';

export type ImportFormat = 'jsonl' | 'csv';

/** One message to ingest, or why a record could not become one. `line` is 1-based and is where the record starts. */
export type ImportRecord =
  { line: number; message: Record<string, unknown> } | { line: number; error: string };

const EXTENSIONS: Record<string, ImportFormat> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
  '.csv': 'csv',
};

/** Picks the format from the file extension, case-insensitively. */
export function detectFormat(path: string): Result<ImportFormat> {
  const format = EXTENSIONS[extname(path).toLowerCase()];
  if (format) return ok(format);
  return fail({
    code: 'import.unknown_format',
    message: `cannot tell the format of "${path}" from its extension; use .jsonl, .ndjson or .json for one JSON message per line, or .csv`,
  });
}

/** Parses an import file line by line; blank lines are skipped, errors do not stop the rest. */
export async function* parseImportLines(
  lines: AsyncIterable<string>,
  format: ImportFormat,
): AsyncGenerator<ImportRecord> {
  yield* format === 'jsonl' ? parseJsonl(numbered(lines)) : parseCsv(numbered(lines));
}

async function* numbered(lines: AsyncIterable<string>): AsyncGenerator<{ line: number; text: string }> {
  let line = 0;
  for await (const raw of lines) {
    line += 1;
    // Excel writes a BOM before the header, and callers that split on "\n" leave CRLF's "\r";
    // either would otherwise end up inside the first column name or the last cell.
    let text = line === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    yield { line, text };
  }
}

// ---------------------------------------------------------------------------------------------
// JSONL

const KNOWN_TYPES: ReadonlySet<string> = new Set(MESSAGE_TYPES);
const TYPE_LIST = MESSAGE_TYPES.join(', ');

async function* parseJsonl(
  lines: AsyncIterable<{ line: number; text: string }>,
): AsyncGenerator<ImportRecord> {
  let first = true;
  for await (const { line, text } of lines) {
    if (text.trim() === '') continue;
    yield { line, ...jsonlMessage(text, first) };
    first = false;
  }
}

function jsonlMessage(
  text: string,
  first: boolean,
): { message: Record<string, unknown> } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // A pretty-printed .json export fails on its first line; say what the file should look like.
    const hint =
      first && /^\s*[[{]\s*$/.test(text)
        ? ' (import expects one JSON message per line, not one JSON document)'
        : '';
    return { error: `invalid JSON: ${(error as Error).message}${hint}` };
  }
  if (!isObject(value)) {
    const hint = Array.isArray(value) ? ' (import expects one JSON message per line, not an array)' : '';
    return { error: `expected a JSON object (a Segment message), got ${describe(value)}${hint}` };
  }
  if (value.type === undefined) {
    // Bodies logged from Segment's per-call endpoints (/v1/track) carry no `type`; only a track has an `event`.
    if (typeof value.event === 'string') return { message: { type: 'track', ...value } };
    return { error: `missing "type"; expected ${TYPE_LIST} (a message with an "event" is taken as a track)` };
  }
  if (typeof value.type !== 'string' || !KNOWN_TYPES.has(value.type)) {
    return { error: `unknown "type" ${JSON.stringify(value.type)}; expected ${TYPE_LIST}` };
  }
  return { message: value };
}

// ---------------------------------------------------------------------------------------------
// CSV

// A stray quote makes the rest of the file one field; stop buffering it long before memory runs out.
const MAX_RECORD_CHARS = 1024 * 1024;

type CsvRecord = { line: number; cells: string[] } | { line: number; error: string };

/** RFC 4180 records: quoted fields may hold commas, `""` and line breaks, so one record can span lines. */
async function* csvRecords(lines: AsyncIterable<{ line: number; text: string }>): AsyncGenerator<CsvRecord> {
  let cells: string[] = [];
  let cell = '';
  let inQuotes = false;
  let start = 0;
  let size = 0;
  for await (const { line, text } of lines) {
    if (inQuotes) {
      cell += '\n';
      size += text.length + 1;
      if (size > MAX_RECORD_CHARS) {
        yield {
          line: start,
          error: `quoted field is still open after ${MAX_RECORD_CHARS} characters (at line ${line}); look for a stray " on this line. Stopped reading the file here`,
        };
        return;
      }
    } else {
      if (text.trim() === '') continue;
      cells = [];
      cell = '';
      start = line;
      size = text.length;
    }
    let afterQuote = false;
    let error: string | undefined;
    for (let i = 0; i < text.length && error === undefined; i++) {
      const c = text.charAt(i);
      if (inQuotes) {
        if (c !== '"') cell += c;
        else if (text.charAt(i + 1) === '"') {
          cell += '"';
          i++;
        } else {
          inQuotes = false;
          afterQuote = true;
        }
      } else if (c === ',') {
        cells.push(cell);
        cell = '';
        afterQuote = false;
      } else if (afterQuote) {
        error = `unexpected ${JSON.stringify(c)} after the closing quote of column ${cells.length + 1}; write a quote inside a quoted field as ""`;
      } else if (c === '"' && cell === '') {
        inQuotes = true;
      } else {
        // A quote inside an unquoted field (`5" screen`) is unambiguous, so it is kept as written.
        cell += c;
      }
    }
    if (error !== undefined) {
      inQuotes = false;
      yield { line: start, error };
    } else if (!inQuotes) {
      cells.push(cell);
      yield { line: start, cells };
    }
  }
  if (inQuotes) yield { line: start, error: 'quoted field is never closed; look for a stray " on this line' };
}

/** What a CSV column feeds: a top-level message field, or a property or trait by name. */
type Column =
  | { kind: 'field'; field: 'userId' | 'anonymousId' | 'event' | 'timestamp' | 'messageId' | 'type' }
  | { kind: 'property' | 'trait'; name: string; coerce: boolean };

const FIXED_COLUMNS: Record<string, Column> = {
  userid: { kind: 'field', field: 'userId' },
  user_id: { kind: 'field', field: 'userId' },
  anonymousid: { kind: 'field', field: 'anonymousId' },
  anonymous_id: { kind: 'field', field: 'anonymousId' },
  event: { kind: 'field', field: 'event' },
  timestamp: { kind: 'field', field: 'timestamp' },
  messageid: { kind: 'field', field: 'messageId' },
  message_id: { kind: 'field', field: 'messageId' },
  type: { kind: 'field', field: 'type' },
  // Identifiers stay strings: a phone of 0044… or an email is never a number.
  email: { kind: 'trait', name: 'email', coerce: false },
  phone: { kind: 'trait', name: 'phone', coerce: false },
};

const ACCEPTED_COLUMNS =
  'userId (or user_id), anonymousId (or anonymous_id), email, phone, event, timestamp, messageId (or message_id), type, properties.<name>, traits.<name>';

function headerColumns(cells: string[]): Result<Column[]> {
  const columns: Column[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  cells.forEach((raw, index) => {
    const header = raw.trim();
    const prefixed = /^(properties|traits)\.(.+)$/i.exec(header);
    const column: Column | undefined = prefixed
      ? {
          kind: prefixed[1]?.toLowerCase() === 'traits' ? 'trait' : 'property',
          name: prefixed[2] ?? '',
          coerce: true,
        }
      : FIXED_COLUMNS[header.toLowerCase()];
    if (!column) {
      problems.push(
        header === ''
          ? `column ${index + 1} has no name`
          : `unknown column "${header}" (column ${index + 1})`,
      );
      return;
    }
    // Two columns feeding one field (user_id and userId, email and traits.email) would make one silently win.
    const target = column.kind === 'field' ? column.field : `${column.kind}:${column.name}`;
    const earlier = seen.get(target);
    if (earlier !== undefined) problems.push(`columns "${earlier}" and "${header}" set the same field`);
    seen.set(target, header);
    columns.push(column);
  });
  if (problems.length > 0) {
    return fail({
      code: 'import.bad_header',
      message: `${problems.join('; ')}. Accepted columns: ${ACCEPTED_COLUMNS}`,
    });
  }
  return ok(columns);
}

async function* parseCsv(lines: AsyncIterable<{ line: number; text: string }>): AsyncGenerator<ImportRecord> {
  let columns: Column[] | undefined;
  for await (const record of csvRecords(lines)) {
    if (columns === undefined) {
      // Without a usable header no row can be mapped, so one error beats one per row.
      const header =
        'error' in record
          ? fail({ code: 'import.bad_header', message: record.error })
          : headerColumns(record.cells);
      if (!header.ok) {
        yield { line: record.line, error: header.error.message };
        return;
      }
      columns = header.value;
    } else if ('error' in record) {
      yield record;
    } else if (record.cells.length !== columns.length) {
      yield {
        line: record.line,
        error: `row has ${record.cells.length} cells but the header has ${columns.length} columns`,
      };
    } else {
      yield { line: record.line, ...csvMessage(columns, record.cells) };
    }
  }
}

function csvMessage(
  columns: Column[],
  cells: string[],
): { message: Record<string, unknown> } | { error: string } {
  const fields: Partial<Record<string, string>> = {};
  // Entries, not assignment, so a column named `traits.__proto__` is data rather than a prototype.
  const properties: [string, unknown][] = [];
  const traits: [string, unknown][] = [];
  columns.forEach((column, index) => {
    const cell = cells[index] ?? '';
    if (cell === '') return;
    if (column.kind === 'field') fields[column.field] = cell;
    else
      (column.kind === 'property' ? properties : traits).push([
        column.name,
        column.coerce ? coerce(cell) : cell,
      ]);
  });
  const { type: typeCell, event, ...ids } = fields;
  const type = typeCell?.toLowerCase() ?? (event === undefined ? 'identify' : 'track');
  if (type === 'track') {
    if (event === undefined) return { error: 'type is track but the event cell is empty' };
    return {
      message: {
        type,
        event,
        ...ids,
        ...(properties.length > 0 && { properties: Object.fromEntries(properties) }),
        // On a track call Segment carries who the person is in context.traits.
        ...(traits.length > 0 && { context: { traits: Object.fromEntries(traits) } }),
      },
    };
  }
  if (type === 'identify') {
    if (event !== undefined) return { error: `type is identify but the row has an event ("${event}")` };
    const [first] = properties;
    if (first)
      return {
        error: `properties.${first[0]} is set but the row has no event, so it is an identify, which has no properties`,
      };
    return { message: { type, ...ids, ...(traits.length > 0 && { traits: Object.fromEntries(traits) }) } };
  }
  return {
    error: `type "${typeCell}" is not supported in CSV; rows are identify or track (use JSONL for page, screen, group and alias)`,
  };
}

// Plain decimals only: leading zeros (ZIP codes, `007`), exponents and more than 15 significant
// digits (order and card-like numbers) stay strings, because as numbers they would change.
const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

function coerce(cell: string): unknown {
  if (DECIMAL.test(cell) && cell.replace(/[-.]/g, '').length <= 15) return Number(cell) || 0; // -0 → 0
  // Spreadsheets write booleans as TRUE/FALSE.
  const lower = cell.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  return cell;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
