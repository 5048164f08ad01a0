import type { ContactStore } from './contact-store.ts';
import { parseContactKey } from './contact-key.ts';
import type { Outcome, Reply } from './envelope.ts';
import { errorReply, fail, GENERIC, listNotExist, recordNotFound } from './envelope.ts';
import type { ListStore, ListView } from './list-store.ts';
import type { ImportJobs } from './import-jobs.ts';
import type { ExportJobs } from './export-jobs.ts';

/** One parsed /v2 request, as the handlers see it. */
export interface RouteRequest {
  method: string;
  /** Path segments after `/v2`, still URL-encoded. */
  segments: string[];
  query: URLSearchParams;
  body: unknown;
}

export interface RouteState {
  contacts: ContactStore;
  lists: ListStore;
  secondaryKeys: readonly string[];
  imports: ImportJobs;
  exports: ExportJobs;
}

type Handler = (req: RouteRequest, state: RouteState, params: string[]) => Reply;

interface Route {
  method: string;
  /** Segments after `/v2`; `*` captures one segment. */
  pattern: string[];
  handler: Handler;
}

const reply = <T>(outcome: Outcome<T>, status: number, body: (value: T) => unknown): Reply =>
  outcome.ok ? { status, body: body(outcome.value) } : errorReply(outcome.error);

const listShow = ({ id, name, enhanced }: ListView) => ({ id, name, enhanced });

function contactKey(raw: string, state: RouteState) {
  try {
    return parseContactKey(decodeURIComponent(raw), state.secondaryKeys);
  } catch {
    return recordNotFound();
  }
}

function listId(raw: string, onMissing: () => Outcome<never>): Outcome<number> {
  return /^\d+$/.test(raw) ? { ok: true, value: Number(raw) } : onMissing();
}

const ROUTES: Route[] = [
  {
    method: 'POST',
    pattern: ['contactimports'],
    handler: (req, s) => reply(s.imports.create(req.body), 201, (v) => v),
  },
  {
    method: 'POST',
    pattern: ['contactexports'],
    handler: (req, s) => reply(s.exports.create(req.body), 200, (v) => v),
  },
  {
    method: 'GET',
    pattern: ['jobs', '*'],
    handler: (_req, s, [raw = '']) => {
      const id = decodeURIComponent(raw);
      return reply(s.exports.show(id) ?? s.imports.show(id), 200, (v) => v);
    },
  },
  {
    method: 'POST',
    pattern: ['contacts'],
    handler: (req, s) => {
      const result = s.contacts.upsert(req.body);
      if (!result.ok) return errorReply(result.error);
      const { created, cID } = result.value;
      return created
        ? { status: 201, body: { success: true, message: 'contact created', cID } }
        : { status: 200, body: { success: true, message: 'contact updated', cID } };
    },
  },
  {
    method: 'GET',
    pattern: ['contacts', '*'],
    handler: (_req, s, [raw = '']) => {
      const key = contactKey(raw, s);
      return key.ok ? reply(s.contacts.read(key.value), 200, (c) => c) : errorReply(key.error);
    },
  },
  {
    method: 'PUT',
    pattern: ['contacts', '*'],
    handler: (req, s, [raw = '']) => {
      const key = contactKey(raw, s);
      return key.ok
        ? reply(s.contacts.update(key.value, req.body), 200, () => ({ success: true }))
        : errorReply(key.error);
    },
  },
  {
    method: 'DELETE',
    pattern: ['contacts', '*'],
    handler: (_req, s, [raw = '']) => {
      const key = contactKey(raw, s);
      return key.ok
        ? reply(s.contacts.delete(key.value), 200, () => ({ success: true }))
        : errorReply(key.error);
    },
  },
  {
    method: 'POST',
    pattern: ['accountlists'],
    handler: (req, s) => reply(s.lists.create(req.body), 200, (l) => ({ success: true, id: l.id })),
  },
  {
    method: 'GET',
    pattern: ['accountlists'],
    handler: (req, s) => {
      const name = req.query.get('name');
      if (name === null) return { status: 200, body: s.lists.all().map(listShow) };
      // The swagger declares 404 RecordNotFound for this operation; a name filter with no match is
      // the one way to get it.
      const list = s.lists.byName(name);
      return list ? { status: 200, body: [listShow(list)] } : errorReply(recordNotFound().error);
    },
  },
  {
    method: 'GET',
    pattern: ['accountlists', '*'],
    handler: (_req, s, [raw = '']) => {
      const list = listId(raw, listNotExist);
      const found = list.ok ? s.lists.get(list.value) : undefined;
      return found ? { status: 200, body: listShow(found) } : errorReply(listNotExist().error);
    },
  },
  {
    method: 'GET',
    pattern: ['accountlists', '*', 'count'],
    handler: (_req, s, [raw = '']) => {
      const list = listId(raw, listNotExist);
      const found = list.ok ? s.lists.get(list.value) : undefined;
      return found ? { status: 200, body: found } : errorReply(listNotExist().error);
    },
  },
  {
    method: 'PUT',
    pattern: ['accountlists', '*'],
    handler: (req, s, [raw = '']) => {
      const id = listId(raw, () => fail(404, GENERIC, 'List is not found'));
      // Swagger `updatelist` answers with an array of ListShow.
      return id.ok
        ? reply(s.lists.update(id.value, req.body ?? {}), 200, (l) => [listShow(l)])
        : errorReply(id.error);
    },
  },
  {
    method: 'PUT',
    pattern: ['accountlists', '*', 'clear'],
    handler: (_req, s, [raw = '']) => {
      const id = listId(raw, listNotExist);
      return id.ok ? reply(s.lists.clear(id.value), 200, () => ({ success: true })) : errorReply(id.error);
    },
  },
  {
    method: 'DELETE',
    pattern: ['accountlists', '*'],
    handler: (_req, s, [raw = '']) => {
      const id = listId(raw, recordNotFound);
      return id.ok ? reply(s.lists.delete(id.value), 200, () => ({ success: true })) : errorReply(id.error);
    },
  },
];

function match(pattern: string[], segments: string[]): string[] | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: string[] = [];
  for (const [i, part] of pattern.entries()) {
    const segment = segments[i] ?? '';
    if (part === '*') params.push(segment);
    else if (part !== segment) return undefined;
  }
  return params;
}

/** Dispatches a /v2 request; anything unrouted is a 404 envelope. */
export function route(req: RouteRequest, state: RouteState): Reply {
  // Import rows complete as time passes: apply them before anything else reads or writes.
  state.imports.tick();
  for (const r of ROUTES) {
    const params = r.method === req.method ? match(r.pattern, req.segments) : undefined;
    if (params) return r.handler(req, state, params);
  }
  return errorReply({
    status: 404,
    errorKey: GENERIC,
    message: `No route for ${req.method} /v2/${req.segments.join('/')}`,
  });
}
