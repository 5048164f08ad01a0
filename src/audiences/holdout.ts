// Holdouts: a fixed share of an audience's members are kept out of destinations as a control
// group. Assignment must not change across restarts, processes or releases, or the control
// group leaks into the treatment, so it is a hash of stable ids, never randomness.
import { createHash } from 'node:crypto';

/** Where a profile falls in [0, 100) for one audience; independent across audiences. */
export function holdoutBucket(profileSeed: string, audienceKey: string): number {
  const digest = createHash('sha256').update(`${audienceKey}\u0000${profileSeed}`).digest();
  return (digest.readUInt32BE(0) / 2 ** 32) * 100;
}

/**
 * Whether the profile is in the audience's holdout: true for `percent`% of profiles.
 * `profileSeed` must be stable for the profile (e.g. its id, which survives merges).
 */
export function isHeldOut(profileSeed: string, audienceKey: string, percent: number): boolean {
  return holdoutBucket(profileSeed, audienceKey) < percent;
}
