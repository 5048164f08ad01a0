/** A person as a test describes one; `cio_id` is assigned when absent. */
export interface MemberInput {
  id?: string;
  email?: string;
  cio_id?: string;
}

/** A person as the workspace holds them: `cio_id` always set. */
export interface Member {
  id?: string;
  email?: string;
  cio_id: string;
}

/**
 * The workspace's people, shared by every segment: the same `id` or `email` in two segments is
 * one person with one `cio_id`, as in Customer.io. Email compares without case [U].
 */
export class People {
  private readonly byCioId = new Map<string, Member>();
  private readonly byId = new Map<string, string>();
  private readonly byEmail = new Map<string, string>();
  private seq = 0;

  /**
   * Finds the person by `cio_id`, then `id`, then `email`, or creates one; an `id` or `email` given
   * for a found person replaces theirs. Throws if that value belongs to someone else.
   */
  resolve(input: MemberInput): Member {
    checkInput(input);
    const cioId =
      input.cio_id ??
      (input.id !== undefined ? this.byId.get(input.id) : undefined) ??
      (input.email !== undefined ? this.byEmail.get(input.email.toLowerCase()) : undefined);
    const found = cioId === undefined ? undefined : this.byCioId.get(cioId);
    const person: Member = found ?? { cio_id: cioId ?? this.newCioId() };
    this.claim(this.byId, input.id, person, 'id');
    this.claim(this.byEmail, input.email?.toLowerCase(), person, 'email');
    if (input.id !== undefined) {
      if (person.id !== undefined && person.id !== input.id) this.byId.delete(person.id);
      person.id = input.id;
      this.byId.set(input.id, person.cio_id);
    }
    if (input.email !== undefined) {
      if (person.email !== undefined && person.email.toLowerCase() !== input.email.toLowerCase())
        this.byEmail.delete(person.email.toLowerCase());
      person.email = input.email;
      this.byEmail.set(input.email.toLowerCase(), person.cio_id);
    }
    this.byCioId.set(person.cio_id, person);
    return { ...person };
  }

  /** The person a description points at, without creating one. */
  find(input: MemberInput): Member | undefined {
    const cioId =
      input.cio_id ??
      (input.id !== undefined ? this.byId.get(input.id) : undefined) ??
      (input.email !== undefined ? this.byEmail.get(input.email.toLowerCase()) : undefined);
    const person = cioId === undefined ? undefined : this.byCioId.get(cioId);
    return person && { ...person };
  }

  get(cioId: string): Member | undefined {
    const person = this.byCioId.get(cioId);
    return person && { ...person };
  }

  reset(): void {
    this.byCioId.clear();
    this.byId.clear();
    this.byEmail.clear();
  }

  private claim(index: Map<string, string>, value: string | undefined, person: Member, name: string): void {
    const holder = value === undefined ? undefined : index.get(value);
    if (holder !== undefined && holder !== person.cio_id)
      throw new Error(`${name} ${JSON.stringify(value)} already belongs to cio_id ${holder}`);
  }

  /**
   * 12 hex digits, the shape of the docs' example `d9c106000001`. Not `cio_`-prefixed: that prefix
   * belongs to the Track API path form (`/customers/cio_<cio_id>`), not to the value. Counter-based,
   * so generated ids sort in creation order and stay unique across `reset()`.
   */
  private newCioId(): string {
    this.seq += 1;
    return `c10${this.seq.toString(16).padStart(9, '0')}`;
  }
}

function checkInput(input: MemberInput): void {
  if (input.id === undefined && input.email === undefined && input.cio_id === undefined)
    throw new Error('a member needs at least one of id, email, cio_id');
  for (const key of ['id', 'email', 'cio_id'] as const) {
    const value = input[key];
    if (value !== undefined && (typeof value !== 'string' || value === ''))
      throw new Error(`member ${key} must be a non-empty string`);
  }
}
