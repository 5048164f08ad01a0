import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { chromium } from 'playwright-core';

/** Debian's Chromium; `.ci/run` installs it (apt-get install -y chromium). */
export const CHROMIUM = '/usr/bin/chromium';

/** Where browser tests leave their screenshots (ignored by git). */
export const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');

/** Why browser tests cannot run here, or undefined when they can. */
export function browserUnavailable(): string | undefined {
  // In CI a missing browser is a failure, never a skip.
  return existsSync(CHROMIUM) || process.env.CI === 'true'
    ? undefined
    : `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium), as .ci/run does`;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile, kept off the network except for the server under test. */
export async function launchBrowser(options: { timezoneId?: string } = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'handoff-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    ...options,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
