import type { ProfileView } from '../identity/model.ts';
import type { CordialTarget } from './config.ts';

/** The address a destination receives for a profile: its current email trait if it owns it, else its first. */
export function emailOf(profile: ProfileView): string | undefined {
  const emails = profile.identifiers.filter((i) => i.kind === 'email').map((i) => i.address ?? i.value);
  const trait = profile.traits.email?.value;
  return typeof trait === 'string' && emails.includes(trait) ? trait : emails[0];
}

/**
 * The destination's key for a profile (`email:<address>` or `<key>:<value>`), or why there is
 * none: a member with no usable value for the identifier is counted as unmatched, never sent.
 */
export function contactKey(
  profile: ProfileView,
  target: CordialTarget,
): { key: string } | { unmatched: string } {
  if (target.identifier === 'email') {
    const email = emailOf(profile);
    return email === undefined ? { unmatched: 'no valid email' } : { key: `email:${email}` };
  }
  const value =
    target.value === 'userId'
      ? profile.identifiers.find((i) => i.kind === 'userId')?.value
      : profile.traits[target.value.slice('traits.'.length)]?.value;
  if (value === undefined || value === null || value === '') return { unmatched: `no ${target.value}` };
  return { key: `${target.identifier}:${typeof value === 'string' ? value : JSON.stringify(value)}` };
}
