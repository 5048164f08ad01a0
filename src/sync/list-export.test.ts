import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { exportedMembers } from './list-export.ts';
import type { ListExport } from './reconcile.ts';
import { verify } from './reconcile.ts';
import type { ContactLists, Destination } from './destination.ts';
import type { SyncItem } from './model.ts';
import type { SyncPorts } from './ports.ts';
import { ManualClock } from '../shared/clock.ts';
import { DEFAULT_RETRY_POLICY } from './retry-policy.ts';

const KEYS = ['channels.email.address', 'email'];

test('an export is read by its header: the key column, the list column, 1 on the list', () => {
  const text = 'channels.email.address,vip,other\nann@x.com,1,0\nbob@x.com,0,1\n"c,d@x.com",1,1\n';
  const read = exportedMembers(text, 'vip', KEYS);
  assert.deepEqual(read.ok && [...read.members].sort(), ['ann@x.com', 'c,d@x.com']);
  assert.equal(read.ok && read.rows, 3);
});

test('a file in parts repeats its header, which is skipped; true counts as on', () => {
  const text = 'email,vip\nann@x.com,true\nemail,vip\nbob@x.com,1\ncarl@x.com,0\n';
  const read = exportedMembers(text, 'vip', KEYS);
  assert.deepEqual(read.ok && [...read.members].sort(), ['ann@x.com', 'bob@x.com']);
  assert.equal(read.ok && read.rows, 3);
});

test('an export without the key or the list column says which', () => {
  const read = exportedMembers('custID,vip\n1,1\n', 'vip', KEYS);
  assert.equal(read.ok, false);
  assert.match(!read.ok ? read.reason : '', /no channels\.email\.address or email column/);
  assert.deepEqual(exportedMembers('', 'vip', KEYS), { ok: true, members: new Set(), rows: 0 });
});

const item = (contact: string, list: string, desired: boolean, sent: boolean | undefined): SyncItem => ({
  destination: 'cordial',
  contact,
  list,
  audience: `a-${list}`,
  profileId: contact,
  email: undefined,
  desired,
  rev: 1,
  changeSeq: 1,
  priority: 0,
  dueAt: 0,
  sent,
  state: 'done',
  attempts: 0,
  nextAttemptAt: 0,
  lastError: undefined,
});

const limiter = {
  pause: () => undefined,
  slowDown: () => undefined,
  speedUp: () => undefined,
  observeRemaining: () => undefined,
};

test('verifying by export finds exactly the drift that reading each contact finds', async () => {
  const contact = fc.integer({ min: 0, max: 30 }).map((i) => `email:c${i}@x.com`);
  const list = fc.constantFrom('big', 'small');
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.tuple(contact, list, fc.boolean(), fc.option(fc.boolean(), { nil: undefined })), {
        selector: ([c, l]) => `${c} ${l}`,
        maxLength: 50,
      }),
      fc.uniqueArray(fc.tuple(contact, list), { selector: ([c, l]) => `${c} ${l}`, maxLength: 50 }),
      fc.integer({ min: 1, max: 20 }),
      async (rows, held, threshold) => {
        const items = rows.map(([c, l, desired, sent]) => item(c, l, desired, sent));
        const store = { sync: { items: () => Promise.resolve(items) } } as unknown as SyncPorts;
        const holds = new Set(held.map(([c, l]) => `${c} ${l}`));
        const known = new Set(held.map(([c]) => c));
        const destination = {
          name: 'cordial',
          read: (c: string) => {
            const lists: ContactLists = known.has(c)
              ? { exists: true, lists: new Set(['big', 'small'].filter((l) => holds.has(`${c} ${l}`))) }
              : { exists: false };
            return Promise.resolve({
              result: {
                outcome: { kind: 'ok' },
                record: { request: '', status: 200, message: '' },
                rate: {},
              },
              lists,
            });
          },
        } as unknown as Destination;
        const exportList = (l: string): Promise<ListExport> =>
          Promise.resolve({
            ok: true,
            jobId: 'j',
            rows: held.length,
            members: new Set(held.filter(([, x]) => x === l).map(([c]) => c.slice('email:'.length))),
          });
        const options = {
          policy: DEFAULT_RETRY_POLICY,
          limiter,
          clock: new ManualClock(0),
          sleep: () => Promise.resolve(),
        };
        const key = (d: { contact: string; list: string; desired: boolean }) =>
          `${d.contact} ${d.list} ${d.desired}`;
        const one = await verify(store, destination, options);
        const both = await verify(store, destination, { ...options, byExport: { threshold, exportList } });
        assert.deepEqual(both.drift.map(key).sort(), one.drift.map(key).sort());
        assert.equal(both.checked, one.checked);
        assert.deepEqual(both.unreadable, []);
      },
    ),
    { numRuns: 200 },
  );
});
