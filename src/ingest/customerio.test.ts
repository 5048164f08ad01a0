import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Problem, Result } from '../shared/result.ts';
import type { SegmentMessage } from './customerio.ts';
import {
  anonymousEventMessage,
  deleteMessage,
  eventMessage,
  identifyMessage,
  parseIdentifier,
} from './customerio.ts';
import { messageSchema } from './messages.ts';

const newId = () => 'generated';
const T = 1_764_417_600; // 2025-11-29T12:00:00Z in unix seconds
const ISO = '2025-11-29T12:00:00.000Z';

/** The mapped message, which must also be a valid Segment-spec message. */
function mapped(result: Result<SegmentMessage, Problem>): SegmentMessage {
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  const parsed = messageSchema.safeParse(result.value);
  assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
  return result.value;
}

function rejected(result: Result<SegmentMessage, Problem>, code: string, message: RegExp): void {
  assert.equal(result.ok, false, 'expected a problem');
  if (result.ok) return;
  assert.equal(result.error.code, code);
  assert.match(result.error.message, message);
}

describe('customerio: path identifiers are read from their shape', () => {
  for (const [raw, kind] of [
    ['42', 'id'],
    ['user-7f3a', 'id'],
    ['+15551234567', 'id'], // Customer.io treats a phone number in the path as an id
    ['Ann.Lee@Example.com', 'email'],
    [' ann@example.com ', 'email'],
    ['cio_03000001', 'cio_id'],
    ['cio_', 'id'],
    ['ann@', 'id'],
    ['@example.com', 'id'],
    ['ann lee@example.com', 'id'],
  ] as const) {
    test(`${JSON.stringify(raw)} is ${kind === 'cio_id' ? 'a cio_id' : `an ${kind}`}`, () => {
      assert.equal(parseIdentifier(raw).kind, kind);
    });
  }
});

describe('customerio: PUT /customers/{identifier} is an identify', () => {
  const cases: [string, string, unknown, SegmentMessage][] = [
    [
      'attributes become traits; created_at stays an attribute',
      '42',
      { plan: 'pro', created_at: 1_700_000_000, first_name: 'Ann' },
      {
        type: 'identify',
        messageId: 'generated',
        userId: '42',
        traits: { plan: 'pro', created_at: 1_700_000_000, first_name: 'Ann' },
      },
    ],
    [
      '_timestamp orders the update and is not an attribute; so are _update and cio_relationships',
      '42',
      { plan: 'pro', _timestamp: T, _update: true, cio_relationships: { action: 'add_relationships' } },
      { type: 'identify', messageId: 'generated', userId: '42', traits: { plan: 'pro' }, timestamp: ISO },
    ],
    [
      'an email path is the email trait (as sent), not a userId: identity resolution finds its profile',
      'Ann.Lee@Example.com',
      { plan: 'pro' },
      {
        type: 'identify',
        messageId: 'generated',
        traits: { plan: 'pro', email: 'Ann.Lee@Example.com' },
      },
    ],
    [
      'an identify by email may set the id, which becomes the userId',
      'ann@example.com',
      { id: 'u-42' },
      { type: 'identify', messageId: 'generated', userId: 'u-42', traits: { email: 'ann@example.com' } },
    ],
    [
      'the body email may restate the path email in another case',
      'ann@example.com',
      { email: 'ANN@example.com' },
      {
        type: 'identify',
        messageId: 'generated',
        traits: { email: 'ANN@example.com' },
      },
    ],
    [
      'an email attribute on an id path is the email trait',
      '42',
      { email: 'ann@example.com', id: 42 },
      { type: 'identify', messageId: 'generated', userId: '42', traits: { email: 'ann@example.com' } },
    ],
    [
      'anonymous_id links earlier anonymous events',
      '42',
      { anonymous_id: 'anon-1' },
      { type: 'identify', messageId: 'generated', userId: '42', anonymousId: 'anon-1', traits: {} },
    ],
    [
      'an empty body is a plain identify',
      '42',
      {},
      { type: 'identify', messageId: 'generated', userId: '42', traits: {} },
    ],
    [
      'a phone-shaped path is an id',
      '+15551234567',
      {},
      { type: 'identify', messageId: 'generated', userId: '+15551234567', traits: {} },
    ],
  ];
  for (const [what, identifier, body, expected] of cases) {
    test(what, () => assert.deepEqual(mapped(identifyMessage(identifier, body, newId)), expected));
  }

  for (const [value, expected] of [
    [true, true],
    ['TRUE', true],
    ['tRUe', true],
    [1, true],
    ['1', true],
    [false, false],
    ['yes', false],
    [0, false],
    [null, false],
  ] as const) {
    test(`unsubscribed ${JSON.stringify(value)} is stored as ${expected}, as Customer.io reads it`, () => {
      const message = mapped(identifyMessage('42', { unsubscribed: value }, newId));
      assert.deepEqual((message as { traits?: unknown }).traits, { unsubscribed: expected });
    });
  }

  const problems: [string, string, unknown, string, RegExp][] = [
    ['a body that is not an object', '42', ['plan'], 'invalid_body', /JSON object of attributes/],
    ['no body', '42', undefined, 'invalid_body', /JSON object/],
    [
      'a cio_id path',
      'cio_03000001',
      {},
      'unsupported_identifier',
      /cio_id.*reference the person by id or email/,
    ],
    ['a blank path', '  ', {}, 'missing_identifier', /needs a customer identifier/],
    [
      'another id in the body',
      '42',
      { id: '43' },
      'identifier_conflict',
      /id "43" in the body differs from "42"/,
    ],
    [
      'another email in the body',
      'ann@example.com',
      { email: 'bob@example.com' },
      'identifier_conflict',
      /email/,
    ],
    [
      '_timestamp in milliseconds',
      '42',
      { _timestamp: T * 1000 },
      'invalid_field',
      /_timestamp .*looks like milliseconds/,
    ],
    [
      '_timestamp as text',
      '42',
      { _timestamp: 'yesterday' },
      'invalid_field',
      /_timestamp must be a unix timestamp in seconds/,
    ],
    ['email that is not a string', '42', { email: 7 }, 'invalid_field', /email must be a string/],
  ];
  for (const [what, identifier, body, code, message] of problems) {
    test(`${what} is a problem`, () => rejected(identifyMessage(identifier, body, newId), code, message));
  }
});

describe('customerio: POST /customers/{identifier}/events is a track (or page/screen)', () => {
  const cases: [string, string, unknown, SegmentMessage][] = [
    [
      'name, data, timestamp (unix seconds) and id (the dedupe key)',
      '42',
      { name: 'purchase', data: { price: 23.45 }, timestamp: T, id: '01HZY8M9V0J5K7' },
      {
        type: 'track',
        event: 'purchase',
        messageId: '01HZY8M9V0J5K7',
        userId: '42',
        timestamp: ISO,
        properties: { price: 23.45 },
      },
    ],
    [
      'no id: a fresh message id, since Customer.io dedupes only on id',
      '42',
      { name: 'purchase' },
      { type: 'track', event: 'purchase', messageId: 'generated', userId: '42', properties: {} },
    ],
    [
      'type event is a track; the name is trimmed as Customer.io does',
      '42',
      { name: '  purchase ', type: 'event', timestamp: String(T) },
      {
        type: 'track',
        event: 'purchase',
        messageId: 'generated',
        userId: '42',
        timestamp: ISO,
        properties: {},
      },
    ],
    [
      'type page is a page view named by the name',
      '42',
      { name: 'https://shop.example/cart', type: 'page', data: { title: 'Cart' } },
      {
        type: 'page',
        name: 'https://shop.example/cart',
        messageId: 'generated',
        userId: '42',
        properties: { title: 'Cart' },
      },
    ],
    [
      'type screen is a screen view',
      '42',
      { name: 'Home', type: 'screen' },
      { type: 'screen', name: 'Home', messageId: 'generated', userId: '42', properties: {} },
    ],
    [
      'an email path carries the email for the identity stage',
      'Ann@Example.com',
      { name: 'purchase' },
      {
        type: 'track',
        event: 'purchase',
        messageId: 'generated',
        context: { traits: { email: 'Ann@Example.com' } },
        properties: {},
      },
    ],
    [
      'a numeric id and an anonymous_id',
      '42',
      { name: 'purchase', id: 123, anonymous_id: 'anon-1', timestamp: null, data: null },
      {
        type: 'track',
        event: 'purchase',
        messageId: '123',
        userId: '42',
        anonymousId: 'anon-1',
        properties: {},
      },
    ],
  ];
  for (const [what, identifier, body, expected] of cases) {
    test(what, () => assert.deepEqual(mapped(eventMessage(identifier, body, newId)), expected));
  }

  const problems: [string, string, unknown, string, RegExp][] = [
    ['no name', '42', { data: {} }, 'invalid_field', /name is required/],
    ['a blank name', '42', { name: '   ' }, 'invalid_field', /name must not be empty/],
    [
      'an unknown type',
      '42',
      { name: 'x', type: 'click' },
      'invalid_field',
      /type must be event, page or screen/,
    ],
    [
      'data that is not an object',
      '42',
      { name: 'x', data: [1] },
      'invalid_field',
      /data must be a JSON object/,
    ],
    [
      'a negative timestamp',
      '42',
      { name: 'x', timestamp: -5 },
      'invalid_field',
      /unix timestamp in seconds/,
    ],
    ['an empty id', '42', { name: 'x', id: '' }, 'invalid_field', /id must not be empty/],
    ['a body that is not an object', '42', 'purchase', 'invalid_body', /JSON object/],
    ['a cio_id path', 'cio_abc', { name: 'x' }, 'unsupported_identifier', /cio_id/],
  ];
  for (const [what, identifier, body, code, message] of problems) {
    test(`${what} is a problem`, () => rejected(eventMessage(identifier, body, newId), code, message));
  }
});

describe('customerio: POST /events is an anonymous event', () => {
  test('anonymous_id is the anonymousId; no userId', () => {
    assert.deepEqual(
      mapped(
        anonymousEventMessage(
          { name: 'watched_video', anonymous_id: 'abc123', data: { video: 'intro' } },
          newId,
        ),
      ),
      {
        type: 'track',
        event: 'watched_video',
        messageId: 'generated',
        anonymousId: 'abc123',
        properties: { video: 'intro' },
      },
    );
  });
  test('an anonymous page view', () => {
    assert.deepEqual(
      mapped(
        anonymousEventMessage({ name: '/pricing', type: 'page', anonymous_id: 'abc123', id: 'e1' }, newId),
      ),
      { type: 'page', name: '/pricing', messageId: 'e1', anonymousId: 'abc123', properties: {} },
    );
  });
  test('without anonymous_id it is a problem: every event belongs to a profile', () => {
    rejected(anonymousEventMessage({ name: 'watched_video' }, newId), 'missing_identifier', /anonymous_id/);
  });
});

describe('customerio: DELETE /customers/{identifier} is the User Deleted event', () => {
  test('by id', () => {
    assert.deepEqual(mapped(deleteMessage('42', newId)), {
      type: 'track',
      event: 'User Deleted',
      messageId: 'generated',
      userId: '42',
      properties: {},
    });
  });
  test('by email', () => {
    assert.deepEqual(mapped(deleteMessage('Ann@Example.com', newId)), {
      type: 'track',
      event: 'User Deleted',
      messageId: 'generated',
      context: { traits: { email: 'Ann@Example.com' } },
      properties: {},
    });
  });
  test('by cio_id is a problem', () => {
    rejected(deleteMessage('cio_03000001', newId), 'unsupported_identifier', /cio_id/);
  });
});
