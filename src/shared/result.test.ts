import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fail, ok } from './result.ts';

test('ok and fail carry their payloads', () => {
  assert.deepEqual(ok(1), { ok: true, value: 1 });
  assert.deepEqual(fail({ code: 'x', message: 'y' }), { ok: false, error: { code: 'x', message: 'y' } });
});
