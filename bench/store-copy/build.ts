import { existsSync, renameSync, rmSync } from 'node:fs';
import { compileAudiences } from '../../src/audiences/index.ts';
import { audienceSet } from '../../src/engine/audience-stage.ts';
import { Processor } from '../../src/engine/processor.ts';
import type { IncomingEvent } from '../../src/ingest/event.ts';
import { SEGMENT_EVENTS } from '../../src/sources/customerio/messages.ts';
import { EventBus } from '../../src/shared/bus.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { uuidv7 } from '../../src/shared/ids.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import { generateEvents } from '../generate/index.ts';
import { APPEND_CHUNK, DAY, bundleRenamer, exampleConfig, toIncoming } from '../engine/setup.ts';
import { fmt } from '../lib.ts';

/**
 * The engine benchmark's database: `events` generated D2C events for `profiles` shoppers over 120
 * days, appended and drained by a Processor wired as the app wires it (the 13 reference
 * audiences). Kept at `path` and reused when it is there already.
 */
export async function engineDatabase(options: {
  path: string;
  events: number;
  profiles: number;
  seed: string;
}): Promise<void> {
  if (existsSync(options.path)) {
    console.log(`reusing ${options.path}`);
    return;
  }
  const started = performance.now();
  const building = `${options.path}.building`;
  for (const suffix of ['', '-wal', '-shm']) rmSync(building + suffix, { force: true });
  const store = createSqliteStore(building);
  const renamer = bundleRenamer();
  let chunk: IncomingEvent[] = [];
  let lastTs = 0;
  for (const m of generateEvents({
    events: options.events,
    profiles: options.profiles,
    seed: options.seed,
    spanMs: 120 * DAY,
  })) {
    renamer.rename(m);
    const e = toIncoming(m);
    lastTs = Math.max(lastTs, e.timestamp);
    chunk.push(e);
    if (chunk.length === APPEND_CHUNK) {
      await store.events.append(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) await store.events.append(chunk);
  const config = exampleConfig(building);
  const processor = new Processor({
    store,
    policy: config.identity,
    bus: new EventBus((error) => {
      throw error;
    }),
    clock: new ManualClock(lastTs + 60_000),
    audiences: audienceSet(compileAudiences(config.audiences), config.audiences, SEGMENT_EVENTS),
    newProfileId: () => uuidv7(Date.now()),
    batchSize: 40_000,
  });
  const drained = await processor.drain();
  await store.close();
  renameSync(building, options.path);
  console.log(
    `built ${options.path}: ${fmt(drained)} events generated, appended and processed in ${fmt((performance.now() - started) / 1000, 1)} s`,
  );
}
