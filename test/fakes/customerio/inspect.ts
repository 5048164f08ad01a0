import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultConfig } from './faults.ts';
import type { MemberInput } from './people.ts';
import type { RateLimitConfig } from './rate-limit.ts';
import type { SegmentOptions, SegmentSnapshot } from './segment-store.ts';
import { send } from './server.ts';

/** The in-process controls the HTTP inspection endpoints expose to another process. */
export interface InspectTarget {
  state(): unknown;
  reset(): void;
  setFaults(config: FaultConfig): void;
  setRateLimit(config: RateLimitConfig | undefined): void;
  createSegment(name: string, members: MemberInput[], options: SegmentOptions): SegmentSnapshot;
  setMembers(id: number, members: MemberInput[]): void;
}

interface NewSegment extends SegmentOptions {
  name: string;
  members?: MemberInput[];
}

/**
 * `/__fake/*`, outside `/v1` so no client reaches it by accident:
 * - `GET /__fake/state`: segments with members, requests and faults
 * - `POST /__fake/reset`
 * - `PUT /__fake/faults` (FaultConfig), `PUT /__fake/rate-limit` (RateLimitConfig or null)
 * - `POST /__fake/segments` (`{ name, members?, type?, description? }`),
 *   `PUT /__fake/segments/{id}/members` (an array of members)
 */
export function inspectHandler(target: InspectTarget) {
  return (req: IncomingMessage, res: ServerResponse, path: string, text: string): void => {
    const done = (status: number, body: unknown) => send(res, { status, body });
    const json = <T>(fallback: string): T => JSON.parse(text || fallback) as T;
    try {
      const key = `${req.method ?? 'GET'} ${path}`;
      if (key === 'GET /__fake/state') return done(200, target.state());
      if (key === 'POST /__fake/reset') {
        target.reset();
        return done(200, {});
      }
      if (key === 'PUT /__fake/faults') {
        target.setFaults(json<FaultConfig>('{}'));
        return done(200, {});
      }
      if (key === 'PUT /__fake/rate-limit') {
        target.setRateLimit(json<RateLimitConfig | null>('null') ?? undefined);
        return done(200, {});
      }
      if (key === 'POST /__fake/segments') {
        const { name, members = [], ...options } = json<NewSegment>('{}');
        return done(200, { segment: target.createSegment(name, members, options) });
      }
      const members = /^PUT \/__fake\/segments\/(\d+)\/members$/.exec(key);
      if (members) {
        target.setMembers(Number(members[1]), json<MemberInput[]>('[]'));
        return done(200, {});
      }
      return done(404, { meta: { error: `no fake route ${key}` } });
    } catch (error) {
      return done(400, { meta: { errors: [(error as Error).message] } });
    }
  };
}
