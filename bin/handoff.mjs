#!/usr/bin/env node
// Entry point: loads the TypeScript sources through tsx so there is no build step.
import { register } from 'tsx/esm/api';

// A closed pipe (`handoff docs | head`) is the reader being done, not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
