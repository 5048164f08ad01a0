// ---------------------------------------------------------------------------------------------
// People.
import type { GeneratedMessage } from './options.ts';
import type { Rng } from './rng.ts';
import { weighted } from './shop.ts';

export const FIRST_NAMES = [
  'Maria',
  'Olivia',
  'Emma',
  'Ava',
  'Sophia',
  'Isabella',
  'Mia',
  'Charlotte',
  'Amelia',
  'Harper',
  'Evelyn',
  'Abigail',
  'Emily',
  'Ella',
  'Madison',
  'Chloe',
  'Grace',
  'Zoe',
  'Nora',
  'Lily',
  'Hannah',
  'Aaliyah',
  'Priya',
  'Mei',
  'Sofia',
  'Camila',
  'Valentina',
  'Leah',
  'Naomi',
  'Ruby',
  'Jessica',
  'Ashley',
  'Sarah',
  'Lauren',
  'Rachel',
  'Megan',
  'Aisha',
  'Fatima',
  'Yuki',
  'Ana',
  'James',
  'Liam',
  'Noah',
  'Ethan',
  'Lucas',
  'Daniel',
  'Michael',
  'David',
  'Omar',
  'Mateo',
  'Chris',
  'Jordan',
  'Taylor',
  'Alex',
  'Sam',
  'Jamie',
  'Morgan',
  'Riley',
  'Casey',
  'Avery',
];
export const LAST_NAMES = [
  'Smith',
  'Johnson',
  'Williams',
  'Brown',
  'Jones',
  'Garcia',
  'Miller',
  'Davis',
  'Rodriguez',
  'Martinez',
  'Hernandez',
  'Lopez',
  'Gonzalez',
  'Wilson',
  'Anderson',
  'Thomas',
  'Taylor',
  'Moore',
  'Jackson',
  'Martin',
  'Lee',
  'Perez',
  'Thompson',
  'White',
  'Harris',
  'Sanchez',
  'Clark',
  'Ramirez',
  'Lewis',
  'Robinson',
  'Walker',
  'Young',
  'Allen',
  'King',
  'Wright',
  'Scott',
  'Nguyen',
  'Hill',
  'Flores',
  'Green',
  'Adams',
  'Nelson',
  'Baker',
  'Hall',
  'Rivera',
  'Campbell',
  'Mitchell',
  'Carter',
  'Patel',
  'Kim',
  'Chen',
  'Singh',
  'Okafor',
  "O'Brien",
  'Murphy',
  'Evans',
  'Reyes',
];
export const EMAIL_DOMAINS = [
  'gmail.com',
  'yahoo.com',
  'icloud.com',
  'outlook.com',
  'hotmail.com',
  'aol.com',
  'proton.me',
  'comcast.net',
  'me.com',
  'googlemail.com',
];
export const EMAIL_DOMAIN_SHARE = [0.48, 0.12, 0.12, 0.08, 0.07, 0.03, 0.03, 0.03, 0.02, 0.02];
export const PLUS_TAGS = ['shop', 'fernhollow', 'promo', 'deals', 'beauty'];

/** Area codes (real, non-toll-free) and their UTC offsets in hours. */
export const US_AREAS: readonly [string, number][] = [
  ['212', -5],
  ['646', -5],
  ['718', -5],
  ['917', -5],
  ['617', -5],
  ['305', -5],
  ['404', -5],
  ['215', -5],
  ['312', -6],
  ['773', -6],
  ['512', -6],
  ['713', -6],
  ['214', -6],
  ['612', -6],
  ['303', -7],
  ['720', -7],
  ['602', -7],
  ['415', -8],
  ['213', -8],
  ['310', -8],
  ['818', -8],
  ['858', -8],
  ['619', -8],
  ['206', -8],
  ['503', -8],
  ['702', -8],
];
export const CA_AREAS: readonly [string, number][] = [
  ['416', -5],
  ['647', -5],
  ['514', -5],
  ['613', -5],
  ['604', -8],
  ['403', -7],
  ['780', -7],
];
/** UK mobile prefixes after the leading 7 that libphonenumber's full metadata accepts (76xx is pagers). */
export const GB_MOBILE = ['71', '72', '73', '74', '75', '77', '78', '79'];

export interface Phone {
  country: 'US' | 'CA' | 'GB';
  /** National significant number: 10 digits for NANP, 10 digits starting with 7 for GB mobiles. */
  nsn: string;
}

export function formatPhone(rng: Rng, phone: Phone): string {
  const n = phone.nsn;
  if (phone.country === 'GB') {
    const [a, b] = [n.slice(0, 4), n.slice(4)];
    return weighted(
      rng,
      [`+44 ${a} ${b}`, `+44${n}`, `+44 (0)${a} ${b}`, `0044 ${a} ${b}`, `0${a} ${b}`, `0${n}`],
      [0.35, 0.2, 0.1, 0.1, 0.15, 0.1],
    );
  }
  const [area, exchange, line] = [n.slice(0, 3), n.slice(3, 6), n.slice(6)];
  return weighted(
    rng,
    [
      `(${area}) ${exchange}-${line}`,
      `${area}-${exchange}-${line}`,
      `${area}.${exchange}.${line}`,
      n,
      `+1 ${area}-${exchange}-${line}`,
      `+1${n}`,
      `1-${area}-${exchange}-${line}`,
      `+1 (${area}) ${exchange} ${line}`,
    ],
    [0.25, 0.2, 0.07, 0.15, 0.1, 0.12, 0.06, 0.05],
  );
}

export interface Device {
  anonymousId: string;
  userAgent: string;
  /** Whether analytics.js on this device knows the userId (after login, sign-up or checkout). */
  identified: boolean;
}

interface Pending {
  t: number;
  message: GeneratedMessage;
}

export interface Shopper {
  index: number;
  weight: number;
  firstName: string;
  lastName: string;
  /** Canonical, lowercase. */
  emailLocal: string;
  emailDomain: string;
  /** A subaddress tag this shopper likes to use, if any. */
  plusTag: string | undefined;
  phone: Phone | undefined;
  tzOffsetHours: number;
  userId: string | undefined;
  devices: Device[];
  lastDevice: number;
  unsubscribed: boolean;
  orders: number;
  /** Candidate session arrivals per ms before the daily-rhythm thinning. */
  rate: number;
  nextSession: number;
  pending: Pending[];
  /** Heap key: the earliest of pending[0].t and nextSession. */
  key: number;
  heapIndex: number;
}

/** Relative likelihood of starting a session in each local hour (peak evenings). */
export const HOURLY = [
  0.2, 0.12, 0.08, 0.06, 0.06, 0.1, 0.2, 0.35, 0.45, 0.5, 0.55, 0.6, 0.65, 0.6, 0.55, 0.55, 0.6, 0.7, 0.85,
  0.95, 1, 0.9, 0.65, 0.4,
];
export const HOURLY_MEAN = HOURLY.reduce((a, b) => a + b, 0) / HOURLY.length;
export const HOUR = 3_600_000;

export const round2 = (x: number): number => Math.round(x * 100) / 100;
export const capitalize = (s: string): string =>
  s.replace(/(^|[.\-_])([a-z])/g, (_, sep: string, c: string) => sep + c.toUpperCase());
