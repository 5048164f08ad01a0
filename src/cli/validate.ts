import type { Io } from './config-path.ts';
import { configPath, loadConfigOrReport } from './config-path.ts';

/** `handoff validate`: checks the config; exit 0 when valid, 2 with each problem and where it is. */
export function validate(options: { config?: string }, io: Io): number {
  const config = loadConfigOrReport(options.config, io);
  if (!config) return 2;
  const missing = [config.server.adminToken, ...config.sources.map((s) => s.writeKey)].filter(
    (s) => s !== undefined && s.value === undefined,
  );
  for (const s of missing) io.err(`warning: ${s!.env} is not set; serve will generate a value for it`);
  io.out(`${configPath(options.config, io.env)}: valid (${config.sources.length} sources, ${config.audiences.length} audiences)`);
  return 0;
}
