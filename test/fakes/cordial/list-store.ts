import type { Outcome } from './envelope.ts';
import { GENERIC, fail, listNotExist, listNotFound, ok, recordNotFound } from './envelope.ts';
import { checkListName } from './list-name.ts';

/** Swagger `ListShow` plus the member count (`ListShowCount`). */
export interface ListView {
  id: number;
  name: string;
  enhanced: boolean;
  count: number;
}

interface ListRecord {
  id: number;
  name: string;
  enhanced: boolean;
  /** cID → join time (Cordial's format), tracked only while the list is `enhanced`. */
  members: Map<string, string | undefined>;
}

/** Cordial's timestamp format on contact reads, e.g. `2017-03-13T17:50:46+0000`. */
export const cordialTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');

/** The account's lists (`/accountlists`) and who is on each. */
export class ListStore {
  private readonly byId = new Map<number, ListRecord>();
  private nextId = 1;

  constructor(
    private readonly attributeNames: () => ReadonlySet<string>,
    private readonly allowUnderscore: boolean,
    private readonly now: () => number,
  ) {}

  names(): Set<string> {
    return new Set([...this.byId.values()].map((l) => l.name));
  }

  all(): ListView[] {
    return [...this.byId.values()].map(view);
  }

  get(id: number): ListView | undefined {
    const list = this.byId.get(id);
    return list && view(list);
  }

  byName(name: string): ListView | undefined {
    const list = this.recordByName(name);
    return list && view(list);
  }

  create(body: unknown): Outcome<ListView> {
    const fields = readFields(body);
    if (!fields.ok) return fields;
    const name = checkListName(fields.value.name, this.nameContext());
    if (!name.ok) return name;
    const list: ListRecord = {
      id: this.nextId++,
      name: name.value,
      enhanced: fields.value.enhanced ?? false,
      members: new Map(),
    };
    this.byId.set(list.id, list);
    return ok(view(list));
  }

  update(id: number, body: unknown): Outcome<ListView> {
    const list = this.byId.get(id);
    if (!list) return listNotFound();
    const fields = readFields(body);
    if (!fields.ok) return fields;
    if (fields.value.name !== undefined && fields.value.name !== list.name) {
      const name = checkListName(fields.value.name, this.nameContext());
      if (!name.ok) return name;
      list.name = name.value;
    }
    if (fields.value.enhanced !== undefined) list.enhanced = fields.value.enhanced;
    return ok(view(list));
  }

  clear(id: number): Outcome<ListView> {
    const list = this.byId.get(id);
    if (!list) return listNotExist();
    list.members.clear();
    return ok(view(list));
  }

  delete(id: number): Outcome<ListView> {
    const list = this.byId.get(id);
    if (!list) return recordNotFound();
    this.byId.delete(id);
    return ok(view(list));
  }

  /** Adds or removes one contact; a repeated join keeps the first join date. */
  setMembership(name: string, cID: string, member: boolean): void {
    const list = this.recordByName(name);
    if (!list) return;
    if (!member) list.members.delete(cID);
    else if (!list.members.has(cID))
      list.members.set(cID, list.enhanced ? cordialTime(this.now()) : undefined);
  }

  /** The lists a contact is on, and join dates for the enhanced ones (as a contact read shows them). */
  membershipsOf(cID: string): { lists: string[]; listJoinDate: Record<string, string> } {
    const lists: string[] = [];
    const listJoinDate: Record<string, string> = {};
    for (const list of this.byId.values()) {
      if (!list.members.has(cID)) continue;
      lists.push(list.name);
      const joined = list.members.get(cID);
      if (list.enhanced && joined !== undefined) listJoinDate[list.name] = joined;
    }
    return { lists, listJoinDate };
  }

  membersOf(name: string): string[] | undefined {
    const list = this.recordByName(name);
    return list && [...list.members.keys()];
  }

  forget(cID: string): void {
    for (const list of this.byId.values()) list.members.delete(cID);
  }

  /** Empties the account; ids start again at 1 so tests can expect them. */
  reset(): void {
    this.byId.clear();
    this.nextId = 1;
  }

  private recordByName(name: string): ListRecord | undefined {
    for (const list of this.byId.values()) if (list.name === name) return list;
    return undefined;
  }

  private nameContext() {
    return {
      listNames: this.names(),
      attributeNames: this.attributeNames(),
      allowUnderscore: this.allowUnderscore,
    };
  }
}

const view = (l: ListRecord): ListView => ({
  id: l.id,
  name: l.name,
  enhanced: l.enhanced,
  count: l.members.size,
});

function readFields(body: unknown): Outcome<{ name?: unknown; enhanced?: boolean }> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return fail(422, GENERIC, 'The request body must be a JSON object');
  }
  const { name, enhanced } = body as Record<string, unknown>;
  if (enhanced !== undefined && typeof enhanced !== 'boolean') {
    return fail(422, GENERIC, 'enhanced must be true or false');
  }
  return ok({ name, ...(enhanced !== undefined ? { enhanced } : {}) });
}
