import { readFileSync } from 'node:fs';
import { lintAudiences } from '../audiences/index.ts';
import { formatProblem, locate, sourceSecret } from '../config/load.ts';
import type { Io } from './config-path.ts';
import { configPath, loadConfigOrReport } from './config-path.ts';

/**
 * `handoff validate`: checks the config (exit 2 with each problem and where it is), then lints
 * audience hygiene: warnings with a fix, which do not fail unless `--strict`.
 */
export function validate(options: { config?: string; strict?: boolean }, io: Io): number {
  const config = loadConfigOrReport(options.config, io);
  if (!config) return 2;
  const file = configPath(options.config, io.env);
  const missing = [
    config.server.adminToken,
    config.destinations.cordial?.apiKey,
    ...config.sources.map(sourceSecret),
  ].filter((s) => s !== undefined && s.value === undefined);
  for (const s of missing) io.err(`note: ${s!.env} is not set; serve will generate a value for it`);
  const warnings = lintAudiences(config.audiences);
  const text = readFileSync(file, 'utf8');
  for (const w of warnings) {
    io.out(
      `warning: ${formatProblem(file, { ...w, path: w.at, ...locate(text, w.at), message: `${w.message} (fix: ${w.hint})` })}`,
    );
  }
  io.out(
    `${file}: valid (${config.sources.length} sources, ${config.audiences.length} audiences, ${warnings.length} warnings)`,
  );
  return options.strict && warnings.length > 0 ? 1 : 0;
}
