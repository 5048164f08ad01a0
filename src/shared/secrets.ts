import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

/**
 * Compares a secret a caller sent with the expected one in time that depends on neither where
 * they differ nor their lengths: both are hashed to 32 bytes first, then compared in constant time.
 */
export const sameSecret = (given: string, expected: string): boolean =>
  timingSafeEqual(digest(given), digest(expected));

/**
 * A secret's SHA-256, as a lookup key: a map keyed by it finds a secret without comparing the
 * caller's text with stored secrets character by character.
 */
export const secretDigest = (secret: string): string => digest(secret).toString('base64');
