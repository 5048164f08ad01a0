// A journey run as a test: its messages through the simulated pipeline, each expectation checked
// against the committed memberships at its instant, with the engine's reasons when one fails.
import type { Config } from '../../config/load.ts';
import type { IdentifierKey } from '../../identity/model.ts';
import type { AudienceVerdict } from '../../engine/explain.ts';
import type { Expectation } from './journey-expect.ts';
import type { JourneyPlan } from './journey.ts';
import type { SimulationNotice } from './simulation.ts';
import { Simulator } from './simulator.ts';

/** An audience an expectation got wrong. */
export interface ExpectationMiss {
  audience: string;
  expected: 'in' | 'out';
  /** Why the profile is where it is, as `handoff explain` says; absent when no profile exists. */
  verdict?: AudienceVerdict;
}

export interface ExpectationResult {
  expectation: Expectation;
  misses: ExpectationMiss[];
}

/** What running one journey found. */
export interface JourneyOutcome {
  results: ExpectationResult[];
  /** Messages the pipeline refused: the journey did not run as written, so it fails. */
  notices: SimulationNotice[];
  passed: boolean;
}

/**
 * Runs the journey's messages in order; each expectation is checked once the messages before it
 * are applied and every wake-up due by its instant has fired, as `simulate` would have them.
 */
export async function runJourney(config: Config, plan: JourneyPlan): Promise<JourneyOutcome> {
  const notices: SimulationNotice[] = [];
  const sim = new Simulator(config, (n) => notices.push(n));
  const { userId, anonymousId } = plan.journey.profile;
  const key: IdentifierKey =
    userId !== undefined ? { kind: 'userId', value: userId } : { kind: 'anonymousId', value: anonymousId! };
  const pending = [...plan.expectations].sort(
    (a, b) => a.position - b.position || a.at - b.at || a.index - b.index,
  );
  const results: ExpectationResult[] = [];
  const check = async (e: Expectation): Promise<void> => {
    await sim.timersThrough(e.at);
    sim.advance(e.at);
    const members = await sim.membersOf(key);
    const isIn = (audience: string) => members?.audiences.has(audience) ?? false;
    const wrong = [
      ...e.in.filter((a) => !isIn(a.key)).map((a) => ({ audience: a.key, expected: 'in' as const })),
      ...e.out.filter((a) => isIn(a.key)).map((a) => ({ audience: a.key, expected: 'out' as const })),
    ];
    const verdicts = wrong.length > 0 && members ? await sim.explain(members.profileId) : [];
    const misses = wrong.map((m) => {
      const verdict = verdicts.find((v) => v.audience === m.audience);
      return verdict ? { ...m, verdict } : m;
    });
    results.push({ expectation: e, misses });
  };
  try {
    let next = 0;
    for (let position = 0; ; position++) {
      while (pending[next]?.position === position) await check(pending[next++]!);
      const input = plan.inputs[position];
      if (input === undefined) break;
      const t = Date.parse(String(input.message.timestamp));
      await sim.timersThrough(t);
      sim.advance(t);
      await sim.receive(input);
    }
  } finally {
    await sim.stop();
  }
  results.sort((a, b) => a.expectation.index - b.expectation.index);
  const passed = notices.length === 0 && results.every((r) => r.misses.length === 0);
  return { results, notices, passed };
}
