import type { Member, MemberInput, People } from './people.ts';

/** `manual` segments take people by API/CSV; `dynamic` ones follow conditions (the fake's default). */
export type SegmentType = 'manual' | 'dynamic';

/** A segment as `GET /v1/segments` lists it (notes §B.5, docs listSegments). */
export interface SegmentView {
  id: number;
  deduplicate_id: string;
  name: string;
  description: string;
  /** Build state; the fake's segments are always built. The docs' example shows `"events"` [U]. */
  state: string;
  progress: null;
  type: SegmentType;
  tags: null;
  /** Unix seconds. */
  created_at: number;
  updated_at: number;
}

/** A segment plus its members in `cio_id` order, for tests. */
export type SegmentSnapshot = SegmentView & { members: Member[] };

export interface SegmentOptions {
  description?: string;
  /** Default `dynamic` (data-driven), what an audience poller reads. */
  type?: SegmentType;
}

interface SegmentRecord {
  view: SegmentView;
  members: Set<string>;
  /** `members` sorted by cio_id; rebuilt on the next page after a change. */
  sorted?: string[];
}

/** Segments and who is in each; people themselves live in `People`. */
export class SegmentStore {
  private readonly byId = new Map<number, SegmentRecord>();
  private nextId = 1;

  constructor(
    private readonly people: People,
    private readonly now: () => number,
  ) {}

  create(name: string, members: readonly MemberInput[] = [], options: SegmentOptions = {}): SegmentSnapshot {
    if (typeof name !== 'string' || name === '') throw new Error('a segment needs a name');
    const at = Math.floor(this.now() / 1000);
    const id = this.nextId++;
    const record: SegmentRecord = {
      view: {
        id,
        deduplicate_id: `${id}:${at}`,
        name,
        description: options.description ?? '',
        state: 'finished',
        progress: null,
        type: options.type ?? 'dynamic',
        tags: null,
        created_at: at,
        updated_at: at,
      },
      members: new Set(),
    };
    this.byId.set(id, record);
    this.setMembers(id, members);
    return this.snapshot(record);
  }

  list(): SegmentView[] {
    return [...this.byId.values()].map((r) => ({ ...r.view }));
  }

  view(id: number): SegmentView | undefined {
    const record = this.byId.get(id);
    return record && { ...record.view };
  }

  get(id: number): SegmentSnapshot | undefined {
    const record = this.byId.get(id);
    return record && this.snapshot(record);
  }

  /** Replaces the membership; returns the members with their cio_ids. */
  setMembers(id: number, members: readonly MemberInput[]): Member[] {
    const record = this.record(id);
    const resolved = members.map((m) => this.people.resolve(m));
    record.members = new Set(resolved.map((m) => m.cio_id));
    this.touch(record);
    return resolved;
  }

  add(id: number, member: MemberInput): Member {
    const record = this.record(id);
    const person = this.people.resolve(member);
    record.members.add(person.cio_id);
    this.touch(record);
    return person;
  }

  /** True when the person was a member. An unknown person is simply not a member. */
  remove(id: number, member: MemberInput): boolean {
    const record = this.record(id);
    const person = this.people.find(member);
    const removed = person !== undefined && record.members.delete(person.cio_id);
    if (removed) this.touch(record);
    return removed;
  }

  count(id: number): number | undefined {
    return this.byId.get(id)?.members.size;
  }

  /**
   * Up to `limit` members with a cio_id after `after`, in cio_id order, and whether more follow.
   * Reads the live membership: whoever joined or left since the previous page is seen as of now.
   */
  page(
    id: number,
    after: string | undefined,
    limit: number,
  ): { members: Member[]; more: boolean } | undefined {
    const record = this.byId.get(id);
    if (!record) return undefined;
    record.sorted ??= [...record.members].sort();
    const sorted = record.sorted;
    const from = after === undefined ? 0 : firstAfter(sorted, after);
    const slice = sorted.slice(from, from + limit);
    const members = slice.map((cioId) => this.people.get(cioId) ?? { cio_id: cioId });
    return { members, more: from + limit < sorted.length };
  }

  reset(): void {
    this.byId.clear();
    this.nextId = 1;
  }

  private record(id: number): SegmentRecord {
    const record = this.byId.get(id);
    if (!record) throw new Error(`no segment with id ${id}`);
    return record;
  }

  private touch(record: SegmentRecord): void {
    delete record.sorted;
    record.view.updated_at = Math.floor(this.now() / 1000);
  }

  private snapshot(record: SegmentRecord): SegmentSnapshot {
    const members = [...record.members].sort().map((c) => this.people.get(c) ?? { cio_id: c });
    return { ...record.view, members };
  }
}

/** Index of the first entry greater than `key` in a sorted array. */
function firstAfter(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? '') <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
