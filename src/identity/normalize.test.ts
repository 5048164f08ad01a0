import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isPhoneRegion, normalizeEmail, normalizePhone } from './normalize.ts';
import type { EmailMatchPolicy } from './normalize.ts';

const EXACT: EmailMatchPolicy = { stripPlusTag: false, removeGmailDots: false };
const PLUS: EmailMatchPolicy = { stripPlusTag: true, removeGmailDots: false };
const DOTS: EmailMatchPolicy = { stripPlusTag: false, removeGmailDots: true };
const BOTH: EmailMatchPolicy = { stripPlusTag: true, removeGmailDots: true };

describe('normalizeEmail: valid addresses', () => {
  const cases: [name: string, raw: string, policy: EmailMatchPolicy, address: string, matchKey: string][] = [
    ['plain', 'ann@example.com', EXACT, 'ann@example.com', 'ann@example.com'],
    [
      'mixed case and whitespace',
      '  Ann.Lee@Example.COM \t',
      EXACT,
      'ann.lee@example.com',
      'ann.lee@example.com',
    ],
    [
      'non-breaking space and BOM are trimmed',
      '\uFEFF\u00A0ann@example.com',
      EXACT,
      'ann@example.com',
      'ann@example.com',
    ],
    [
      'plus tag kept when policy off',
      'ann+promo@example.com',
      EXACT,
      'ann+promo@example.com',
      'ann+promo@example.com',
    ],
    ['plus tag stripped', 'Ann+Promo@Example.com', PLUS, 'ann+promo@example.com', 'ann@example.com'],
    [
      'only the first plus starts the tag',
      'ann+a+b@example.com',
      PLUS,
      'ann+a+b@example.com',
      'ann@example.com',
    ],
    ['a bare tag keeps its mailbox', '+tag@example.com', PLUS, '+tag@example.com', '+tag@example.com'],
    ['gmail dots kept when policy off', 'a.n.n@gmail.com', EXACT, 'a.n.n@gmail.com', 'a.n.n@gmail.com'],
    ['gmail dots removed', 'A.N.N@gmail.com', DOTS, 'a.n.n@gmail.com', 'ann@gmail.com'],
    ['googlemail folds into gmail', 'a.nn@googlemail.com', DOTS, 'a.nn@googlemail.com', 'ann@gmail.com'],
    [
      'googlemail untouched when policy off',
      'ann@googlemail.com',
      EXACT,
      'ann@googlemail.com',
      'ann@googlemail.com',
    ],
    ['dots elsewhere are significant', 'a.nn@example.com', DOTS, 'a.nn@example.com', 'a.nn@example.com'],
    ['gmail lookalike domain untouched', 'a.nn@gmail.co', DOTS, 'a.nn@gmail.co', 'a.nn@gmail.co'],
    ['gmail subdomain untouched', 'a.nn@mail.gmail.com', DOTS, 'a.nn@mail.gmail.com', 'a.nn@mail.gmail.com'],
    [
      'both policies, dots only before tag',
      'A.n.N+x.y@GoogleMail.com',
      BOTH,
      'a.n.n+x.y@googlemail.com',
      'ann@gmail.com',
    ],
    ['plus policy alone leaves gmail dots', 'a.nn+x@gmail.com', PLUS, 'a.nn+x@gmail.com', 'a.nn@gmail.com'],
    ['display name is unwrapped', 'Ann Lee <Ann@Example.com>', EXACT, 'ann@example.com', 'ann@example.com'],
    [
      'quoted display name with comma',
      '"Lee, Ann" <ann@example.com>',
      EXACT,
      'ann@example.com',
      'ann@example.com',
    ],
    ['angle brackets alone', '<ann@example.com>', EXACT, 'ann@example.com', 'ann@example.com'],
    ['quoted local part left as given', '"a+b"@example.com', BOTH, '"a+b"@example.com', '"a+b"@example.com'],
    ['internationalised local part', 'JOSÉ@example.com', EXACT, 'josé@example.com', 'josé@example.com'],
    [
      'decomposed accent composes',
      'jose\u0301@example.com',
      EXACT,
      'jos\u00e9@example.com',
      'jos\u00e9@example.com',
    ],
  ];
  for (const [name, raw, policy, address, matchKey] of cases) {
    test(name, () => {
      assert.deepEqual(normalizeEmail(raw, policy), { ok: true, address, matchKey });
    });
  }
});

describe('normalizeEmail: rejected input', () => {
  const cases: [name: string, raw: unknown, reason: RegExp][] = [
    ['null', null, /not a string \(got null\)/],
    ['undefined', undefined, /\(got undefined\)/],
    ['number', 42, /\(got number\)/],
    ['array', ['ann@example.com'], /\(got an array\)/],
    ['empty', '', /empty/],
    ['whitespace only', '   ', /empty/],
    ['mailto link', 'mailto:ann@example.com', /mailto/],
    ['mailto in capitals', 'MAILTO:ann@example.com', /mailto/],
    ['no at sign', 'ann.example.com', /not a valid email/],
    ['two at signs', 'ann@lee@example.com', /not a valid email/],
    ['no domain', 'ann@', /not a valid email/],
    ['no tld', 'ann@localhost', /not a valid email/],
    ['ip domain', 'ann@127.0.0.1', /not a valid email/],
    ['double dot', 'a..nn@example.com', /not a valid email/],
    ['trailing dot in local part', 'ann.@gmail.com', /not a valid email/],
    ['space inside', 'ann lee@example.com', /not a valid email/],
    ['zero-width space', 'ann\u200B@example.com', /invisible/],
    ['lone high surrogate', 'ann\uD800@example.com', /lone UTF-16 surrogate/],
    ['lone low surrogate alone', '\uDC00', /lone UTF-16 surrogate/],
    ['display name without address', 'Ann Lee', /not a valid email/],
    ['display name with junk in brackets', 'Ann <not an address>', /not a valid email/],
    ['two bracketed addresses', '<a@x.com> <b@x.com>', /not a valid email/],
    ['local part over 64 bytes', `${'a'.repeat(65)}@example.com`, /not a valid email/],
  ];
  for (const [name, raw, reason] of cases) {
    test(name, () => {
      const result = normalizeEmail(raw, BOTH);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.reason, reason);
    });
  }
});

describe('normalizePhone: valid numbers', () => {
  // Every number here was checked with libphonenumber-js max metadata; fictional ranges that
  // the metadata rejects (UK 07700 900xxx, US 555-01xx) are in the rejected table instead.
  const cases: [raw: string | number, region: string, e164: string][] = [
    ['(415) 555-2671', 'US', '+14155552671'],
    ['415.555.2671', 'US', '+14155552671'],
    ['415 555 2671', 'US', '+14155552671'],
    ['+1 415-555-2671', 'US', '+14155552671'],
    ['1-415-555-2671', 'US', '+14155552671'],
    ['  +1 (415) 555-2671  ', 'US', '+14155552671'],
    ['011 44 20 7946 0958', 'US', '+442079460958'], // the US international prefix
    [4155552671, 'US', '+14155552671'],
    [14155552671, 'US', '+14155552671'],
    ['4155552671', 'us', '+14155552671'], // region case does not matter
    ['+1 415 555 2671', 'GB', '+14155552671'], // + ignores the default region
    ['07400 123456', 'GB', '+447400123456'],
    ['+44 7400 123456', 'US', '+447400123456'],
    ['0044 7400 123456', 'GB', '+447400123456'],
    ['0044 7400 123456', 'US', '+447400123456'], // 00 ignores the default region too
    ['00 44 7400 123456', 'DE', '+447400123456'],
    ['020 7946 0958', 'GB', '+442079460958'],
    ['+44 (0)20 7946 0958', 'US', '+442079460958'],
    ['030 123456789', 'DE', '+4930123456789'],
    ['01512 3456789', 'DE', '+4915123456789'],
    ['+49 151 23456789', 'US', '+4915123456789'],
    ['06 12 34 56 78', 'FR', '+33612345678'],
    ['01 23 45 67 89', 'FR', '+33123456789'],
    ['0033 6 12 34 56 78', 'US', '+33612345678'],
    ['98765 43210', 'IN', '+919876543210'],
    ['022 2345 6789', 'IN', '+912223456789'],
    ['+91 98765 43210', 'US', '+919876543210'],
    ['0412 345 678', 'AU', '+61412345678'],
    ['(02) 9876 5432', 'AU', '+61298765432'],
    ['+61 4 1234 5678', 'US', '+61412345678'],
    ['(11) 91234-5678', 'BR', '+5511912345678'],
    ['(11) 2345-6789', 'BR', '+551123456789'],
    ['+55 11 91234 5678', 'US', '+5511912345678'],
    ['090-1234-5678', 'JP', '+819012345678'],
    ['03-1234-5678', 'JP', '+81312345678'],
    ['+81 90 1234 5678', 'US', '+819012345678'],
    ['＋１ ４１５ ５５５ ２６７１', 'US', '+14155552671'], // full-width digits from East Asian keyboards
  ];
  for (const [raw, region, e164] of cases) {
    test(`${JSON.stringify(raw)} in ${region}`, () => {
      assert.deepEqual(normalizePhone(raw, region), { ok: true, e164 });
    });
  }
});

describe('normalizePhone: rejected input', () => {
  const cases: [raw: unknown, region: string, reason: RegExp][] = [
    ['12345', 'US', /too short for US/],
    ['+1 415 555 26711', 'US', /too long for \+1$/],
    ['415-555-CALL', 'US', /not a phone number/],
    ['call 415 555 2671', 'US', /not a phone number/],
    ['abc', 'US', /not a phone number/],
    ['', 'US', /empty/],
    ['   ', 'US', /empty/],
    [null, 'US', /got null/],
    [undefined, 'US', /\(got undefined\)/],
    [{ number: '4155552671' }, 'US', /\(got object\)/],
    [4155552671.5, 'US', /not a whole positive number/],
    [-4155552671, 'US', /not a whole positive number/],
    [Number.NaN, 'US', /not a whole positive number/],
    ['+999 123 456', 'US', /unknown country calling code/],
    ['+1 415-555-2671 ext. 123', 'US', /extension \(123\)/],
    ['415 555 2671 x12', 'US', /extension/],
    ['07700 900123', 'GB', /not a valid number for GB/], // Ofcom's range reserved for drama
    ['+1 (555) 555-0100', 'US', /not a valid number for \+1$/], // reserved for fiction
    ['447400123456', 'US', /too long for US/], // lost its +; a national US number cannot be this long
  ];
  for (const [raw, region, reason] of cases) {
    test(`${JSON.stringify(raw) ?? String(raw)} in ${region}`, () => {
      const result = normalizePhone(raw, region);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.reason, reason);
    });
  }

  test('an unknown default region is a configuration error, not a bad number', () => {
    assert.throws(() => normalizePhone('4155552671', 'XX'), RangeError);
    assert.throws(() => normalizePhone('+14155552671', 'USA'), /ISO 3166/);
    assert.equal(isPhoneRegion('gb'), true);
    assert.equal(isPhoneRegion('XX'), false);
  });
});
