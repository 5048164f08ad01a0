// Runs every *.test.ts under src/ and test/ with node's test runner (Node 20 does not expand
// globs itself). Pass paths or substrings to run a subset: `npm run test:unit -- identity`.
// test/reliability/ is left out: it is its own suite (`--reliability`, `npm run test:reliability`),
// heavier, run after the others in CI.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const RELIABILITY = join('test', 'reliability');

function collect(dir) {
  let out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out = out.concat(collect(path));
    else if (entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const args = process.argv.slice(2);
const reliability = args.includes('--reliability');
const filters = args.filter((a) => a !== '--reliability');
const files = (reliability ? [RELIABILITY] : ['src', 'test'])
  .flatMap((d) => collect(d))
  .filter((f) => reliability || !f.startsWith(RELIABILITY + '/'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// The reliability suite runs one file at a time: each drives a real serve hard, and its timing
// assertions need the machine's cores. A hung file is stopped by the per-test timeout.
const flags = reliability ? ['--test-concurrency=1', '--test-timeout=600000'] : ['--test-concurrency=2'];
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...flags, ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
