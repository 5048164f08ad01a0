import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultConfig } from './faults.ts';
import type { RateLimitConfig } from './rate-limit.ts';
import { send } from './server.ts';

/** The in-process controls the HTTP inspection endpoints expose to another process. */
export interface InspectTarget {
  state(): unknown;
  reset(): void;
  setFaults(config: FaultConfig): void;
  setRateLimit(config: RateLimitConfig | undefined): void;
}

/**
 * `/__fake/*`, outside `/v2` so no client can hit it by accident:
 * - `GET /__fake/state`: contacts, lists, requests and faults as JSON
 * - `POST /__fake/reset`: empty the account
 * - `PUT /__fake/faults` (body: FaultConfig) and `PUT /__fake/rate-limit` (body: RateLimitConfig or null)
 */
export function inspectHandler(target: InspectTarget) {
  return (req: IncomingMessage, res: ServerResponse, path: string, text: string): void => {
    const done = (status: number, body: unknown) => send(res, { status, body });
    try {
      const key = `${req.method ?? 'GET'} ${path}`;
      if (key === 'GET /__fake/state') return done(200, target.state());
      if (key === 'POST /__fake/reset') {
        target.reset();
        return done(200, { success: true });
      }
      if (key === 'PUT /__fake/faults') {
        target.setFaults(JSON.parse(text || '{}') as FaultConfig);
        return done(200, { success: true });
      }
      if (key === 'PUT /__fake/rate-limit') {
        target.setRateLimit((JSON.parse(text || 'null') as RateLimitConfig | null) ?? undefined);
        return done(200, { success: true });
      }
      return done(404, { error: true, errorKey: 'GENERIC_ERROR_KEY', message: `No fake route ${key}` });
    } catch (error) {
      return done(400, { error: true, errorKey: 'GENERIC_ERROR_KEY', message: (error as Error).message });
    }
  };
}
