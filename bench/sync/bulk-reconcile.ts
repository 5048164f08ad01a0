import type { App } from '../../src/app/app.ts';
import type { FakeCordial } from '../../test/fakes/cordial/index.ts';
import { fmt } from '../lib.ts';

/** What `sync reconcile --verify` of one large list cost, by export, with its repair. */
export interface ReconcileResult {
  members: number;
  drifted: number;
  found: number;
  repaired: number;
  seconds: number;
  verifySeconds: number;
  requests: Record<string, number>;
  /** Reading every member back one contact at a time at R. */
  baselineSeconds: number;
  converged: boolean;
}

/**
 * Takes `fraction` of the list's members off it by hand in the fake, then runs what
 * `handoff sync reconcile --verify` runs (verify, re-assert the drift, send it and run its import
 * jobs to their end) and times it; the list must equal the audience again.
 */
export async function reconcilePhase(
  app: App,
  fake: FakeCordial,
  { list, fraction, rate }: { list: string; fraction: number; rate: number },
): Promise<ReconcileResult> {
  const members = fake.listMembers(list);
  const step = Math.max(1, Math.round(1 / fraction));
  const off = members.filter((_, i) => i % step === 0);
  for (const address of off) fake.seedContact({ channels: { email: { address } }, [list]: false });
  const firstRequest = fake.requests.length;
  const started = performance.now();
  const report = await app.sync!.verify();
  const verifySeconds = (performance.now() - started) / 1000;
  const contacts = [...new Set(report.drift.map((d) => d.contact))];
  const repaired = contacts.length === 0 ? 0 : await app.store.sync.reassert('cordial', { contacts });
  await app.sync!.drain();
  const seconds = (performance.now() - started) / 1000;
  const requests: Record<string, number> = {};
  for (const r of fake.requests.slice(firstRequest)) {
    const key = `${r.method} ${r.path.replace(/\/v2\/(contacts|jobs)\/.*/, '/v2/$1/{id}')}`;
    requests[key] = (requests[key] ?? 0) + 1;
  }
  const after = fake.listMembers(list);
  const converged = after.length === members.length && after.every((m, i) => m === members[i]);
  const result = {
    members: members.length,
    drifted: off.length,
    found: report.drift.length,
    repaired,
    seconds,
    verifySeconds,
    requests,
    baselineSeconds: members.length / rate,
    converged,
  };
  const total = Object.values(requests).reduce((s, n) => s + n, 0);
  console.log(
    `reconcile --verify of ${fmt(result.members)} members with ${fmt(result.drifted)} drifted: ${fmt(seconds, 1)} s (verify by export ${fmt(verifySeconds, 1)} s), drift found ${fmt(result.found)}, repaired ${fmt(repaired)}; ${fmt(total)} requests (${Object.entries(
      requests,
    )
      .map(([k, n]) => `${k} ${fmt(n)}`)
      .join(
        ', ',
      )}); list equal to the audience again: ${converged}; per contact at R: ${fmt(result.baselineSeconds / 3600, 1)} h`,
  );
  return result;
}
