// The frozen holder: SIGSTOP of the process sending to Cordial while it has a backlog, past its
// lease's TTL, then SIGCONT once another process holds its leases. Fencing means the woken process
// sends nothing and takes no lease back.
import type { FakeCordial } from '../../test/fakes/cordial/index.ts';
import type { ServeFleet } from '../../test/helpers/serve-fleet.ts';
import { sleep } from '../lib.ts';

const WAIT_MS = 30_000;

/** Runs `n` freezes; whether the woken holder sent and took nothing every time. */
export async function freezeRuns(
  fleet: ServeFleet,
  fake: FakeCordial,
  n: number,
  keys: readonly string[],
): Promise<boolean> {
  let ok = true;
  const times: number[] = [];
  const auth = (slot: number) => `Basic ${Buffer.from(`${keys[slot]}:`).toString('base64')}`;
  for (let i = 0; i < n; i++) {
    // Slow answers keep the sender busy with a backlog when it is frozen.
    fake.faults.set({ latencyMs: 100 });
    const leases = (await fleet.leases()) ?? [];
    const sync = leases.find((l) => l.name === 'sync:cordial' && !l.expired);
    const slot = sync && fleet.slotOf(sync);
    if (sync === undefined || slot === undefined) {
      console.log(`freeze ${i + 1}: nobody holds sync:cordial now; waiting`);
      await sleep(2_000);
      i--;
      continue;
    }
    const from = fake.requests.length;
    const start = performance.now();
    while (
      performance.now() - start < WAIT_MS &&
      fake.requests.slice(from).filter((r) => r.headers.authorization === auth(slot)).length < 3
    )
      await sleep(20);
    const held = leases.filter((l) => !l.expired && l.holder === sync.holder).map((l) => l.name);
    fleet.freeze(slot);
    const frozeAt = performance.now();
    const taken = await fleet.takenOver(held, sync.holder, WAIT_MS, 50);
    const ms = Math.round(performance.now() - frozeAt);
    const wokenAt = Date.now();
    fleet.thaw(slot);
    await sleep(3_000);
    const late = fake.requests.filter((r) => r.headers.authorization === auth(slot) && r.at >= wokenAt);
    const now = (await fleet.leases()) ?? [];
    const back = now.filter((l) => l.holder === sync.holder && !l.expired).map((l) => l.name);
    const lost = /lost the sync:cordial lease/.test(fleet.slots[slot]?.output() ?? '');
    if (taken) times.push(ms);
    console.log(
      `freeze ${i + 1}: SIGSTOP of the sync:cordial holder (held ${held.join(', ')}); ` +
        (taken ? `all held elsewhere +${ms} ms` : `NOT taken over in ${WAIT_MS} ms`) +
        `; woken: ${late.length} Cordial requests sent after SIGCONT, leases taken back: ${back.length ? back.join(', ') : 'none'}, logged "lost the sync:cordial lease": ${lost ? 'yes' : 'no'}`,
    );
    if (!taken || late.length > 0 || back.length > 0) ok = false;
    fake.faults.clear();
    await sleep(2_000);
  }
  if (times.length > 0)
    console.log(
      `SIGSTOP: every lease held elsewhere after max ${Math.max(...times)} ms; the woken holder sent nothing and took no lease back: ${ok ? 'yes' : 'NO'}`,
    );
  return ok;
}
