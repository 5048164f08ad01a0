// The fake's REST v2 surface: what a Cordial client sees on the wire, checked with plain fetch.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FakeCordial } from './index.ts';
import { startFakeCordial } from './index.ts';
import { basicAuth, cordialClient } from './test-client.ts';

let fake: FakeCordial;
const call = cordialClient(() => fake);
before(async () => {
  fake = await startFakeCordial({
    apiKeys: ['key-one', 'key-two'],
    secondaryKeys: ['email', 'custID', 'channels.sms.address'],
    contactAttributes: ['first_name', 'geo'],
  });
});
beforeEach(() => fake.reset());
after(() => fake.close());

const jane = { channels: { email: { address: 'jane@x.com' } }, first_name: 'Jane', custID: '42' };
const notFound = { error: true, errorKey: 'RECORD_NOT_FOUND', message: 'record not found' };

async function createJane(extra: Record<string, unknown> = {}): Promise<string> {
  const res = await call('POST', '/contacts', { ...jane, ...extra });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.cID as string;
}

describe('auth', () => {
  const denied = { error: 'Access Denied: Authentication Failure' };
  for (const [name, auth] of [
    ['no Authorization header', null],
    ['an unknown key', basicAuth('nope')],
    ['a known key with a password', basicAuth('key-one', 'secret')],
    ['a Bearer token', 'Bearer key-one'],
  ] as const) {
    test(`${name} is a 401 with error as a string`, async () => {
      const res = await call('GET', '/accountlists', undefined, { auth });
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, denied);
    });
  }
  test('every configured key is accepted, with a blank password', async () => {
    for (const key of ['key-one', 'key-two']) {
      assert.equal((await call('GET', '/accountlists', undefined, { auth: basicAuth(key) })).status, 200);
    }
  });
  test('a 401 changes nothing', async () => {
    const res = await call('POST', '/contacts', jane, { auth: null });
    assert.equal(res.status, 401);
    assert.equal(fake.contacts().length, 0);
  });
});

describe('contacts: create, read, update, delete', () => {
  test('POST creates: 201, a 24-hex cID, and the contact reads back by every key form', async () => {
    const res = await call('POST', '/contacts', jane);
    assert.equal(res.status, 201);
    assert.equal(res.body.success, true);
    assert.equal(res.body.message, 'contact created');
    assert.match(res.body.cID, /^[0-9a-f]{24}$/);
    const cID = res.body.cID as string;
    for (const key of [
      cID,
      `cID:${cID}`,
      'email:jane%40x.com',
      'email%3Ajane%40x.com',
      'email:jane@x.com',
      'jane%40x.com',
      'custID:42',
      'email:JANE%40X.COM',
    ]) {
      const got = await call('GET', `/contacts/${key}`);
      assert.equal(got.status, 200, key);
      assert.equal(got.body.cID, cID, key);
    }
    const got = await call('GET', `/contacts/${cID}`);
    assert.equal(got.body._id, cID);
    assert.deepEqual(got.body.channels, { email: { address: 'jane@x.com', subscribeStatus: 'none' } });
    assert.equal(got.body.first_name, 'Jane');
    assert.equal(got.body.custID, '42');
    assert.deepEqual(got.body.lists, []);
  });

  test('POST on an existing email upserts: 200 "contact updated", same cID, attributes merged', async () => {
    const cID = await createJane();
    const res = await call('POST', '/contacts', {
      channels: { email: { address: 'Jane@X.com' } },
      first_name: 'Janet',
    });
    assert.deepEqual(res.body, { success: true, message: 'contact updated', cID });
    assert.equal(res.status, 200);
    assert.equal(fake.contacts().length, 1);
    assert.equal(fake.contact(cID)?.first_name, 'Janet');
    assert.equal(fake.contact(cID)?.custID, '42');
  });

  test('POST with identifyBy finds the contact by that key, in priority order, and may change its email', async () => {
    const cID = await createJane();
    const res = await call('POST', '/contacts', {
      channels: { email: { address: 'jane.new@x.com' } },
      custID: '42',
      identifyBy: ['channels.sms.address', 'custID'],
    });
    assert.deepEqual(res.body, { success: true, message: 'contact updated', cID });
    assert.equal(fake.contact('email:jane.new@x.com')?.cID, cID);
    assert.equal(fake.contact('email:jane@x.com'), undefined);
    // identifyBy as a single string, and by cID.
    const byId = await call('POST', '/contacts', { cID, first_name: 'J', identifyBy: 'cID' });
    assert.equal(byId.status, 200);
    assert.equal(fake.contact(cID)?.first_name, 'J');
  });

  test('POST with identifyBy on a key that matches nobody creates a contact', async () => {
    await createJane();
    const res = await call('POST', '/contacts', { custID: '77', identifyBy: ['custID'] });
    assert.equal(res.status, 201);
    assert.equal(fake.contact('custID:77')?.channels.email, undefined);
  });

  test('POST with no email and no identifying key is a 422 envelope', async () => {
    for (const body of [{ first_name: 'Nobody' }, { custID: '9' }, { channels: {} }]) {
      const res = await call('POST', '/contacts', body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.body.error, true);
      assert.equal(res.body.errorKey, 'GENERIC_ERROR_KEY');
      assert.match(
        res.body.message,
        /^Must include email or secondaryKey email,custID,channels\.sms\.address$/,
      );
    }
    assert.equal(fake.contacts().length, 0);
  });

  test('identifyBy naming a key the account does not have is a 422', async () => {
    const res = await call('POST', '/contacts', { ...jane, identifyBy: ['phone'] });
    assert.equal(res.status, 422);
    assert.equal(res.body.message, 'Search field is not correct');
  });

  test('a secondary key value held by another contact is a 422 and writes nothing', async () => {
    await createJane();
    const res = await call('POST', '/contacts', {
      channels: { email: { address: 'bob@x.com' } },
      custID: '42',
    });
    assert.equal(res.status, 422);
    assert.equal(res.body.message, 'custID must be unique');
    assert.equal(fake.contacts().length, 1);
  });

  test('PUT is a partial update: 200 {success:true}; other fields stay', async () => {
    const cID = await createJane();
    const res = await call('PUT', '/contacts/email:jane%40x.com', { geo: { city: 'Austin' } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { success: true });
    const dotted = await call('PUT', '/contacts/custID:42', { 'geo.state': 'TX' });
    assert.equal(dotted.status, 200);
    const after = fake.contact(cID);
    assert.deepEqual(after?.geo, { city: 'Austin', state: 'TX' });
    assert.equal(after?.first_name, 'Jane');
    assert.equal(after?.channels.email?.address, 'jane@x.com');
  });

  test('PUT can change the email; to one another contact holds is a 422', async () => {
    const cID = await createJane();
    await call('POST', '/contacts', { channels: { email: { address: 'bob@x.com' } } });
    const taken = await call('PUT', `/contacts/${cID}`, { channels: { email: { address: 'bob@x.com' } } });
    assert.equal(taken.status, 422);
    assert.equal(taken.body.message, 'email must be unique');
    const moved = await call('PUT', `/contacts/${cID}`, { channels: { email: { address: 'jane@y.com' } } });
    assert.equal(moved.status, 200);
    assert.equal((await call('GET', '/contacts/email:jane%40y.com')).body.cID, cID);
    assert.equal((await call('GET', '/contacts/email:jane%40x.com')).status, 404);
  });

  test('GET, PUT and DELETE on an absent contact are 404 RECORD_NOT_FOUND', async () => {
    for (const [method, body] of [['GET'], ['PUT', { first_name: 'x' }], ['DELETE']] as const) {
      for (const key of ['email:ghost%40x.com', '0123456789abcdef01234567', 'custID:nope', 'ghost%40x.com']) {
        const res = await call(method, `/contacts/${key}`, body);
        assert.equal(res.status, 404, `${method} ${key}`);
        assert.deepEqual(res.body, notFound);
      }
    }
  });

  test('a key prefix the account does not have is a 422', async () => {
    const res = await call('GET', '/contacts/phone:555');
    assert.equal(res.status, 422);
    assert.equal(res.body.message, 'Search field is not correct');
  });

  test('DELETE removes the contact and its memberships', async () => {
    fake.seedList('vip');
    const cID = await createJane({ vip: true });
    const res = await call('DELETE', '/contacts/custID:42');
    assert.deepEqual([res.status, res.body], [200, { success: true }]);
    assert.equal((await call('GET', `/contacts/${cID}`)).status, 404);
    assert.deepEqual(fake.listMembers('vip'), []);
    assert.equal((await call('DELETE', `/contacts/${cID}`)).status, 404);
  });

  test('a body key naming no list and no attribute is a 422, and nothing is written', async () => {
    fake.seedList('vip');
    const cID = await createJane();
    const res = await call('PUT', `/contacts/${cID}`, { first_name: 'Changed', vip: true, 'vip-list': true });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body, {
      error: true,
      errorKey: 'GENERIC_ERROR_KEY',
      message: 'Key not exist: vip-list',
    });
    assert.equal(fake.contact(cID)?.first_name, 'Jane');
    assert.deepEqual(fake.listMembers('vip'), []);
    const post = await call('POST', '/contacts', { ...jane, favourite_colour: 'red' });
    assert.equal(post.status, 422);
  });

  test('bad values are 422s: list flag not boolean, subscribeStatus, suppressTriggers, email', async () => {
    fake.seedList('vip');
    for (const body of [
      { ...jane, vip: 'yes' },
      { channels: { email: { address: 'jane@x.com', subscribeStatus: 'maybe' } } },
      { ...jane, suppressTriggers: 'no' },
      { channels: { email: { address: 'not-an-email' } } },
      { channels: { fax: { address: '1' } } },
      ['not', 'an', 'object'],
    ]) {
      const res = await call('POST', '/contacts', body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.body.error, true);
    }
    assert.equal(
      (await call('POST', '/contacts', { ...jane, suppressTriggers: true, forceSubscribe: false })).status,
      201,
    );
  });
});

describe('contacts: subscription status', () => {
  test('stored as sent, default none, and unchanged when a body leaves it out', async () => {
    const cID = await createJane({
      channels: { email: { address: 'jane@x.com', subscribeStatus: 'subscribed' } },
    });
    await call('POST', '/contacts', { channels: { email: { address: 'jane@x.com' } }, first_name: 'J' });
    await call('PUT', `/contacts/${cID}`, { first_name: 'K' });
    assert.equal(fake.contact(cID)?.channels.email?.subscribeStatus, 'subscribed');
  });
  test('unsubscribing stamps unsubscribedAt; resubscribing needs forceSubscribe', async () => {
    const cID = await createJane({
      channels: { email: { address: 'jane@x.com', subscribeStatus: 'subscribed' } },
    });
    await call('PUT', `/contacts/${cID}`, { channels: { email: { subscribeStatus: 'unsubscribed' } } });
    const unsubscribed = fake.contact(cID)?.channels.email;
    assert.equal(unsubscribed?.subscribeStatus, 'unsubscribed');
    assert.match(String(unsubscribed?.unsubscribedAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
    const quiet = await call('PUT', `/contacts/${cID}`, {
      channels: { email: { subscribeStatus: 'subscribed' } },
    });
    assert.equal(quiet.status, 200);
    assert.equal(fake.contact(cID)?.channels.email?.subscribeStatus, 'unsubscribed');
    await call('PUT', `/contacts/${cID}`, {
      channels: { email: { subscribeStatus: 'subscribed' } },
      forceSubscribe: true,
    });
    const back = fake.contact(cID)?.channels.email;
    assert.equal(back?.subscribeStatus, 'subscribed');
    assert.equal(back?.unsubscribedAt, undefined);
  });
  test('SMS channel: an address key and pendingDOI', async () => {
    const res = await call('POST', '/contacts', {
      channels: { sms: { address: '+15551230000', subscribeStatus: 'pendingDOI' } },
      identifyBy: ['channels.sms.address'],
    });
    assert.equal(res.status, 201);
    const got = await call('GET', `/contacts/${encodeURIComponent('channels.sms.address:+15551230000')}`);
    assert.equal(got.body.channels.sms.subscribeStatus, 'pendingDOI');
  });
});

describe('contacts: list membership through body flags', () => {
  test('"<list>": true joins, false leaves; reads show lists and listJoinDate for enhanced lists only', async () => {
    fake.seedList('vip', { enhanced: true });
    fake.seedList('plain');
    const cID = await createJane({ vip: true, plain: true });
    await call('POST', '/contacts', { channels: { email: { address: 'adam@x.com' } }, vip: true });
    const got = (await call('GET', `/contacts/${cID}`)).body;
    assert.deepEqual(got.lists, ['vip', 'plain']);
    assert.deepEqual(Object.keys(got.listJoinDate), ['vip']);
    assert.match(got.listJoinDate.vip, /\+0000$/);
    assert.deepEqual(fake.listMembers('vip'), ['adam@x.com', 'jane@x.com']);

    await call('PUT', '/contacts/email:jane%40x.com', { vip: false });
    assert.deepEqual(fake.listMembers('vip'), ['adam@x.com']);
    assert.deepEqual(fake.contact(cID)?.lists, ['plain']);
    assert.deepEqual(fake.listMemberIds('plain'), [cID]);
  });
  test('joining twice keeps the first join date; leaving a list one is not on is a no-op', async () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const clocked = await startFakeCordial({ now: () => t });
    try {
      clocked.seedList('vip', { enhanced: true });
      const cID = clocked.seedContact({ channels: { email: { address: 'a@x.com' } }, vip: true });
      t += 86_400_000;
      clocked.seedContact({ channels: { email: { address: 'a@x.com' } }, vip: true });
      assert.equal(clocked.contact(cID)?.listJoinDate?.vip, '2026-01-01T00:00:00+0000');
      clocked.seedContact({ channels: { email: { address: 'b@x.com' } }, vip: false });
      assert.deepEqual(clocked.listMembers('vip'), ['a@x.com']);
    } finally {
      await clocked.close();
    }
  });
});

describe('accountlists', () => {
  test('POST creates: 200 {success, id}; GET, ?name=, /count, clear and DELETE', async () => {
    const res = await call('POST', '/accountlists', { name: 'vip-segment', enhanced: true });
    assert.equal(res.status, 200);
    assert.equal(res.body.success, true);
    const id = res.body.id as number;
    assert.equal(typeof id, 'number');
    await createJane({ 'vip-segment': true });

    assert.deepEqual((await call('GET', '/accountlists')).body, [
      { id, name: 'vip-segment', enhanced: true },
    ]);
    assert.deepEqual((await call('GET', '/accountlists?name=vip-segment')).body, [
      { id, name: 'vip-segment', enhanced: true },
    ]);
    assert.deepEqual((await call('GET', `/accountlists/${id}`)).body, {
      id,
      name: 'vip-segment',
      enhanced: true,
    });
    assert.deepEqual((await call('GET', `/accountlists/${id}/count`)).body, {
      id,
      name: 'vip-segment',
      enhanced: true,
      count: 1,
    });

    const cleared = await call('PUT', `/accountlists/${id}/clear`);
    assert.deepEqual([cleared.status, cleared.body], [200, { success: true }]);
    assert.equal((await call('GET', `/accountlists/${id}/count`)).body.count, 0);
    assert.equal(fake.contacts().length, 1, 'clearing keeps the contacts');

    const deleted = await call('DELETE', `/accountlists/${id}`);
    assert.deepEqual([deleted.status, deleted.body], [200, { success: true }]);
    assert.deepEqual((await call('GET', '/accountlists')).body, []);
  });

  test('an unknown list: 404 with the envelope each operation documents', async () => {
    const listNotExist = { error: true, errorKey: 'ACCOUNT_LISTS_NOT_FOUND', message: 'List does not exist' };
    for (const [method, path, body] of [
      ['GET', '/accountlists/999', listNotExist],
      ['GET', '/accountlists/abc', listNotExist],
      ['GET', '/accountlists/999/count', listNotExist],
      ['PUT', '/accountlists/999/clear', listNotExist],
      [
        'PUT',
        '/accountlists/999',
        { error: true, errorKey: 'GENERIC_ERROR_KEY', message: 'List is not found' },
      ],
      ['DELETE', '/accountlists/999', notFound],
      ['GET', '/accountlists?name=ghost', notFound],
    ] as const) {
      const res = await call(
        method,
        path,
        method === 'PUT' && !path.endsWith('clear') ? { name: 'x' } : undefined,
      );
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.deepEqual(res.body, body, `${method} ${path}`);
    }
  });

  test('PUT renames (answering an array) and members follow the list', async () => {
    const id = fake.seedList('old-name');
    const cID = await createJane({ 'old-name': true });
    const res = await call('PUT', `/accountlists/${id}`, { name: 'new-name', enhanced: true });
    assert.deepEqual([res.status, res.body], [200, [{ id, name: 'new-name', enhanced: true }]]);
    assert.deepEqual(fake.contact(cID)?.lists, ['new-name']);
    const flagOld = await call('PUT', `/contacts/${cID}`, { 'old-name': false });
    assert.equal(flagOld.status, 422, 'the old name is no longer a list');
  });

  describe('naming rules', () => {
    const rule = {
      pattern: 'Name must contain only letters, numbers, and dashes. Should not exceed 128 characters',
      cid: 'cid is not allowed for list names.',
      unique: 'Name must be unique',
    };
    const cases: [string, unknown, string | null][] = [
      ['letters, digits, dashes', 'Weekly-Deals-2026', null],
      ['128 characters', 'a'.repeat(128), null],
      ['129 characters', 'a'.repeat(129), rule.pattern],
      ['an underscore', 'safe_drivers', rule.pattern],
      ['a space', 'weekly deals', rule.pattern],
      ['a dot', 'v1.0', rule.pattern],
      ['non-ASCII letters', 'café', rule.pattern],
      ['cid', 'cid', rule.cid],
      ['CID in capitals', 'CID', rule.cid],
      ['a contact attribute name', 'first_name', rule.pattern],
      ['a custom key attribute name', 'custID', rule.unique],
      ['an existing list name', 'taken', rule.unique],
      ['an empty name', '', 'Name is required'],
      ['no name', undefined, 'Name is required'],
      ['a number', 42, 'Name is required'],
    ];
    for (const [label, name, error] of cases) {
      test(`${label}: ${error ? '422' : '200'}`, async () => {
        fake.seedList('taken');
        const res = await call('POST', '/accountlists', { name });
        if (error === null) {
          assert.equal(res.status, 200, JSON.stringify(res.body));
          return;
        }
        assert.equal(res.status, 422);
        assert.deepEqual(res.body, { error: true, errorKey: 'GENERIC_ERROR_KEY', message: error });
      });
    }
    test('names are case-sensitive for uniqueness; enhanced must be a boolean', async () => {
      fake.seedList('taken');
      assert.equal((await call('POST', '/accountlists', { name: 'Taken' })).status, 200);
      assert.equal((await call('POST', '/accountlists', { name: 'flag', enhanced: 'yes' })).status, 422);
    });
    test('a list may not take a contact attribute name, even one the pattern allows', async () => {
      const withAttr = await startFakeCordial({ contactAttributes: ['loyalty-tier'] });
      try {
        assert.throws(() => withAttr.seedList('loyalty-tier'), /Name must be unique/);
      } finally {
        await withAttr.close();
      }
    });
    test('allowUnderscoreInListNames accepts safe_drivers (the KB example)', async () => {
      const lenient = await startFakeCordial({ allowUnderscoreInListNames: true });
      try {
        assert.equal(typeof lenient.seedList('safe_drivers'), 'number');
      } finally {
        await lenient.close();
      }
    });
  });
});

describe('request errors', () => {
  test('an unknown route is a 404 envelope', async () => {
    for (const [method, path] of [
      ['GET', '/nothing'],
      ['PATCH', '/contacts/x'],
      ['POST', '/accountlists/1'],
    ] as const) {
      const res = await call(method, path, method === 'GET' ? undefined : {});
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error, true);
      assert.equal(res.body.errorKey, 'GENERIC_ERROR_KEY');
    }
  });
  test('malformed JSON is a 422 envelope', async () => {
    const res = await call('POST', '/contacts', undefined, { raw: '{"channels":' });
    assert.equal(res.status, 422);
    assert.equal(res.body.error, true);
    assert.match(res.body.message, /^Malformed JSON/);
  });
  test("a body that is not JSON or form-encoded is a 415 with Cordial's message", async () => {
    const res = await call('POST', '/contacts', undefined, { raw: 'email=jane', contentType: 'text/plain' });
    assert.equal(res.status, 415);
    assert.deepEqual(res.body, {
      error: true,
      errorKey: 'UNSUPPORTED_MEDIA_TYPE',
      message:
        'Unsupported Media Type: Content-Type header must be application/json or application/x-www-form-urlencoded.',
    });
  });
  test('JSON with a charset and form-encoded bodies are accepted', async () => {
    const json = await call(
      'POST',
      '/accountlists',
      { name: 'a' },
      { contentType: 'application/json; charset=utf-8' },
    );
    assert.equal(json.status, 200);
    const form = await call('POST', '/accountlists', undefined, {
      raw: 'name=b',
      contentType: 'application/x-www-form-urlencoded',
    });
    assert.equal(form.status, 200);
  });
});
