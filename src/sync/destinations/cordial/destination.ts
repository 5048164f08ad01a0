import type { Clock } from '../../../shared/clock.ts';
import type { ContactLists, Destination, RateInfo, SendResult } from '../../destination.ts';
import type { ContactUpdate } from '../../model.ts';
import { classifyStatus, retryAfterMs } from '../../retry-policy.ts';
import type { CordialClient, CordialResponse } from './client.ts';
import { isRecord } from '../../../shared/is-record.ts';

/** Turns a Cordial answer into a classified outcome, with its error key and message for the dead-letter table. */
export function classify(response: CordialResponse, request: string, now: number): SendResult {
  if (!response.ok) {
    return {
      outcome: { kind: 'retryable', reason: response.error },
      record: { request, status: undefined, message: response.error },
      rate: {},
    };
  }
  const { status, body, headers } = response;
  const errorKey = isRecord(body) && typeof body.errorKey === 'string' ? body.errorKey : undefined;
  const message = isRecord(body)
    ? typeof body.message === 'string'
      ? body.message
      : typeof body.error === 'string'
        ? body.error
        : JSON.stringify(body.messages ?? body)
    : typeof body === 'string'
      ? body
      : JSON.stringify(body ?? '');
  const wait = retryAfterMs(
    { retryAfter: headers['retry-after'], reset: headers['x-rate-limit-reset'] },
    now,
  );
  const outcome = classifyStatus(status, wait, `${status}${errorKey ? ` ${errorKey}` : ''}: ${message}`);
  const remaining = headers['x-rate-limit-remaining'];
  const reset = retryAfterMs({ reset: headers['x-rate-limit-reset'] }, now);
  const rate: RateInfo = {
    ...(remaining !== undefined && /^\d+$/.test(remaining) ? { remaining: Number(remaining) } : {}),
    ...(reset !== undefined ? { resetAt: now + reset } : {}),
  };
  const record = { request, status, message, ...(errorKey ? { errorKey } : {}) };
  if (outcome.kind === 'permanent' && errorKey) return { outcome: { ...outcome, errorKey }, record, rate };
  return { outcome, record, rate };
}

export interface CordialDestinationOptions {
  client: CordialClient;
  clock: Clock;
  /** Create the contact (POST with its email) when an entry finds none. Default true. */
  createContacts?: boolean;
  /** Awaited before every request, so the account's rate limit covers them all. */
  gate?: () => Promise<void>;
}

/**
 * Cordial lists as a destination. Membership is set with `"<list>": true | false` in the contact
 * body: PUT on the contact's key; on an entry for a contact Cordial does not have, POST creates
 * it with its email. A removal that finds no contact is already done. Subscription status is
 * never touched.
 */
export class CordialDestination implements Destination {
  readonly name = 'cordial';
  private readonly knownLists = new Set<string>();
  /**
   * Contacts a PUT found missing: their retry goes straight to POST, so an entry needs one
   * request, not two, and cannot starve behind a rate limit that admits one request per window.
   */
  private readonly missing = new Set<string>();
  private readonly gate: () => Promise<void>;

  constructor(private readonly options: CordialDestinationOptions) {
    this.gate = options.gate ?? (() => Promise.resolve());
  }

  async prepareLists(lists: readonly string[]): Promise<SendResult | undefined> {
    const { client, clock } = this.options;
    for (const name of lists) {
      if (this.knownLists.has(name)) continue;
      await this.gate();
      const found = await client.findList(name);
      const foundResult = classify(found, `GET /accountlists?name=${name}`, clock.now());
      // No match may come back as [] or as a 404: both mean "not there yet".
      if (foundResult.outcome.kind !== 'ok' && foundResult.outcome.kind !== 'not_found') return foundResult;
      const exists =
        found.ok && Array.isArray(found.body) && found.body.some((l) => isRecord(l) && l.name === name);
      if (!exists) {
        await this.gate();
        const created = await client.createList(name);
        const result = classify(
          created,
          `POST /accountlists ${JSON.stringify({ name, enhanced: true })}`,
          clock.now(),
        );
        if (result.outcome.kind !== 'ok') return result;
      }
      this.knownLists.add(name);
    }
    return undefined;
  }

  async send(update: ContactUpdate): Promise<SendResult> {
    const { client, clock } = this.options;
    const body: Record<string, unknown> = Object.fromEntries(update.lists);
    const entering = [...update.lists.values()].some(Boolean);
    if (!(entering && this.missing.has(update.contact))) {
      await this.gate();
      const put = await client.updateContact(update.contact, body);
      const result = classify(put, `PUT /contacts/${update.contact} ${JSON.stringify(body)}`, clock.now());
      if (result.outcome.kind !== 'not_found') return result;
      // Removing someone Cordial does not know is already done.
      if (!entering) return { ...result, outcome: { kind: 'ok' } };
      if (this.missing.size > 100_000) this.missing.clear();
      this.missing.add(update.contact);
    }
    return this.create(update, body);
  }

  private async create(update: ContactUpdate, body: Record<string, unknown>): Promise<SendResult> {
    const { client, clock } = this.options;
    const request = `POST /contacts (for ${update.contact})`;
    if (this.options.createContacts === false || update.email === undefined) {
      const reason = 'contact not in Cordial and not created (no email, or createContacts is off)';
      return {
        outcome: { kind: 'permanent', status: 404, errorKey: 'RECORD_NOT_FOUND', reason },
        record: { request, status: 404, errorKey: 'RECORD_NOT_FOUND', message: reason },
        rate: {},
      };
    }
    const [keyName, keyValue] = splitKey(update.contact);
    const created: Record<string, unknown> = {
      channels: { email: { address: update.email } },
      ...(keyName !== 'email' && keyName !== undefined ? { [keyName]: keyValue } : {}),
      ...body,
    };
    await this.gate();
    const post = await client.createContact(created);
    const result = classify(post, `POST /contacts ${JSON.stringify(created)}`, clock.now());
    if (result.outcome.kind === 'ok') this.missing.delete(update.contact);
    return result;
  }

  async read(contact: string): Promise<{ result: SendResult; lists?: ContactLists }> {
    await this.gate();
    const res = await this.options.client.getContact(contact);
    const result = classify(res, `GET /contacts/${contact}`, this.options.clock.now());
    if (result.outcome.kind === 'not_found')
      return { result: { ...result, outcome: { kind: 'ok' } }, lists: { exists: false } };
    if (result.outcome.kind !== 'ok' || !res.ok || !isRecord(res.body)) return { result };
    const lists = Array.isArray(res.body.lists)
      ? res.body.lists.filter((l): l is string => typeof l === 'string')
      : [];
    return { result, lists: { exists: true, lists: new Set(lists) } };
  }
}

function splitKey(key: string): [string | undefined, string] {
  const colon = key.indexOf(':');
  return colon === -1 ? [undefined, key] : [key.slice(0, colon), key.slice(colon + 1)];
}
