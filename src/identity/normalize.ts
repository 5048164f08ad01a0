// Email and phone identifiers arrive in every shape customers type them. Identity resolution
// needs one canonical form per identifier, so two events about the same person land on the
// same profile, while destinations still receive the address the person actually gave.
import validator from 'validator';
import {
  isSupportedCountry,
  parsePhoneNumberFromString,
  validatePhoneNumberLength,
} from 'libphonenumber-js/max';
import type { CountryCode } from 'libphonenumber-js/max';

/** How aggressively email match keys fold addresses together. Both default to off in config. */
export interface EmailMatchPolicy {
  /** `ann+promo@x.com` matches `ann@x.com` (subaddressing, supported by most providers). */
  stripPlusTag: boolean;
  /** `a.n.n@gmail.com` matches `ann@gmail.com`; Gmail ignores dots, other providers do not. */
  removeGmailDots: boolean;
}

/** `address` is what destinations receive; `matchKey` is what identity resolution compares. */
export type NormalizedEmail = { ok: true; address: string; matchKey: string } | { ok: false; reason: string };

/** A phone number in E.164 (`+14155552671`), the form Cordial and SMS providers key on. */
export type NormalizedPhone = { ok: true; e164: string } | { ok: false; reason: string };

// Spelled out rather than left to defaults so an upgrade of validator cannot quietly change
// which addresses become identities.
const EMAIL_OPTIONS = {
  allow_display_name: false, // display names are unwrapped below, where we can say so
  require_tld: true, // `ann@localhost` is never a customer's address
  allow_ip_domain: false,
  allow_utf8_local_part: true, // internationalised addresses (RFC 6531) are real
  allow_underscores: false,
  ignore_max_length: false,
  domain_specific_validation: false, // Gmail's own username rules are Gmail's business
} as const;

const GMAIL_DOMAINS = new Set(['gmail.com', 'googlemail.com']);

// `Ann <ann@x.com>`, `"Ann, B" <ann@x.com>`, `<ann@x.com>`: RFC 5322 name-addr, exported that
// way by mail clients and some CRMs. The address is unambiguous, so we take it and drop the name.
const NAME_ADDR = /^[^<>]*<([^<>]*)>$/;

// Zero-width spaces, BOMs and control characters survive copy-paste, pass isEmail in the local
// part and make an invisible second identity.
const INVISIBLE = /[\p{Cc}\p{Cf}]/u;

// Half of a UTF-16 pair alone is not text at all (a client's broken encoding); the validator
// throws on it rather than saying no.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Validates an email and derives its match key. `address` is trimmed and lowercased only;
 * the policies shape `matchKey` and never the address sent to destinations.
 */
export function normalizeEmail(raw: unknown, policy: EmailMatchPolicy): NormalizedEmail {
  if (typeof raw !== 'string') return { ok: false, reason: `not a string (got ${describe(raw)})` };
  let text = raw.trim();
  if (text === '') return { ok: false, reason: 'empty' };
  // A mailto: URI has its own percent-encoding and ?query rules; unwrapping it is guesswork.
  if (/^mailto:/i.test(text)) return { ok: false, reason: 'a mailto: link rather than a bare address' };
  const nameAddr = NAME_ADDR.exec(text);
  if (nameAddr) text = (nameAddr[1] ?? '').trim();
  if (INVISIBLE.test(text)) return { ok: false, reason: 'contains an invisible or control character' };
  if (LONE_SURROGATE.test(text))
    return { ok: false, reason: 'contains a lone UTF-16 surrogate (not valid Unicode)' };
  // NFC so that a precomposed and a decomposed "é" are the same identity.
  const address = text.normalize('NFC').toLowerCase();
  if (!validator.isEmail(address, EMAIL_OPTIONS)) return { ok: false, reason: 'not a valid email address' };
  return { ok: true, address, matchKey: matchKeyFor(address, policy) };
}

function matchKeyFor(address: string, policy: EmailMatchPolicy): string {
  const at = address.lastIndexOf('@');
  let local = address.slice(0, at);
  let domain = address.slice(at + 1);
  // A quoted local part may legitimately contain `+` and `.`; leave it exactly as given.
  if (local.startsWith('"')) return address;
  if (policy.stripPlusTag) {
    const plus = local.indexOf('+');
    // `+tag@x.com` has nothing before the tag; stripping would leave no mailbox at all.
    if (plus > 0) local = local.slice(0, plus);
  }
  if (policy.removeGmailDots && GMAIL_DOMAINS.has(domain)) {
    local = local.replaceAll('.', '');
    // googlemail.com is the same mailbox as gmail.com (Germany and the UK used it for years).
    domain = 'gmail.com';
  }
  return `${local}@${domain}`;
}

/** Whether `region` (ISO 3166 alpha-2, any case) is one `normalizePhone` accepts; for config validation. */
export function isPhoneRegion(region: string): boolean {
  return isSupportedCountry(region.toUpperCase());
}

/**
 * Validates a phone number and returns it in E.164. `defaultRegion` (ISO 3166 alpha-2, e.g.
 * `US`) applies only to numbers written nationally; `+` or `00` numbers carry their own country.
 * Throws a RangeError for an unknown `defaultRegion`: that is a configuration bug, and returning
 * it per number would quietly reject every phone in an import.
 */
export function normalizePhone(raw: unknown, defaultRegion: string): NormalizedPhone {
  // The same people send the same numbers again and again; parsing one costs microseconds.
  if (typeof raw !== 'string') return parsePhone(raw, defaultRegion);
  const key = `${defaultRegion}\u0000${raw}`;
  let known = recentPhones.get(key);
  if (known === undefined) {
    if (recentPhones.size >= RECENT_PHONES) recentPhones.clear();
    known = parsePhone(raw, defaultRegion);
    recentPhones.set(key, known);
  }
  return known;
}

/** Numbers normalised lately, as given; emptied whenever it fills. */
const recentPhones = new Map<string, NormalizedPhone>();
const RECENT_PHONES = 10_000;

function parsePhone(raw: unknown, defaultRegion: string): NormalizedPhone {
  const region = defaultRegion.toUpperCase();
  if (!isSupportedCountry(region)) {
    throw new RangeError(
      `unknown default phone region "${defaultRegion}"; use an ISO 3166 alpha-2 code such as US`,
    );
  }
  const text = phoneText(raw);
  if (typeof text !== 'string') return text;
  // `00` is the international prefix across most of the world but not in the US (011), so a
  // US default would read `0044 …` as a national number. Treat it as `+` whatever the region.
  const international = text.replace(/^00/, '+');
  // extract: false rejects "call 415 555 2671" instead of fishing a number out of prose.
  const options = { defaultCountry: region, extract: false };
  const parsed = parsePhoneNumberFromString(international, options);
  if (!parsed) return { ok: false, reason: phoneProblem(international, options, undefined) };
  // E.164 has no extension: keeping only the main line would merge everyone behind one switchboard.
  if (parsed.ext) return { ok: false, reason: `has an extension (${parsed.ext}), which E.164 cannot carry` };
  // The max metadata validates digits, not just length, so reserved ranges such as the US
  // 555-01xx and UK 07700 900xxx fiction numbers are rejected too.
  if (!parsed.isValid()) {
    return { ok: false, reason: phoneProblem(international, options, parsed.countryCallingCode) };
  }
  return { ok: true, e164: parsed.number };
}

function phoneText(raw: unknown): string | { ok: false; reason: string } {
  if (typeof raw === 'string') {
    const text = raw.trim();
    return text === '' ? { ok: false, reason: 'empty' } : text;
  }
  // Spreadsheets and JSON exports turn phone numbers into numbers; the digits are still right
  // as long as the value is a whole number that survived as one.
  if (typeof raw === 'number') {
    return Number.isSafeInteger(raw) && raw > 0
      ? String(raw)
      : { ok: false, reason: 'not a whole positive number' };
  }
  return { ok: false, reason: `not a string or number (got ${describe(raw)})` };
}

// Reasons name the problem, not the number: callers keep the value, and logs need not repeat it.
function phoneProblem(
  text: string,
  options: { defaultCountry: CountryCode },
  callingCode: string | undefined,
): string {
  const where = !text.startsWith('+')
    ? options.defaultCountry
    : callingCode
      ? `+${callingCode}`
      : 'its country code';
  switch (validatePhoneNumberLength(text, options)) {
    case 'NOT_A_NUMBER':
      return 'not a phone number';
    case 'INVALID_COUNTRY':
      return 'unknown country calling code';
    case 'TOO_SHORT':
      return `too short for ${where}`;
    case 'TOO_LONG':
      return `too long for ${where}`;
    default:
      return `not a valid number for ${where}`;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
