/**
 * A real browser for the web view's tests: Debian's `chromium` driven by `playwright-core` (the
 * browser build Playwright would download cannot be fetched where kici is built and tested).
 *
 * Where the browser is: `KICI_TEST_CHROMIUM` when set (and then it must be there), otherwise
 * `/usr/bin/chromium`, otherwise `chromium` on PATH. Without one, a suite declared with
 * `describeWithBrowser` is skipped with the reason in its name, so `npm test` on a laptop without
 * chromium still runs; with `KICI_REQUIRE_BROWSER=1` (what `.ci/run` sets) it fails instead.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { describe, it } from 'vitest';

export interface ChromiumLookup {
  /** The executable to launch, when one was found. */
  executable?: string;
  /** Why there is none, for the skip or failure message. */
  reason?: string;
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Where chromium is, or why it cannot be used. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): ChromiumLookup {
  const asked = env.KICI_TEST_CHROMIUM;
  if (asked) {
    return isExecutableFile(asked) ? { executable: asked } : { reason: `KICI_TEST_CHROMIUM=${asked} is not an executable file` };
  }
  if (isExecutableFile('/usr/bin/chromium')) return { executable: '/usr/bin/chromium' };
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'chromium');
    if (isExecutableFile(candidate)) return { executable: candidate };
  }
  return { reason: 'no chromium at /usr/bin/chromium or on PATH (apt-get install chromium, or set KICI_TEST_CHROMIUM)' };
}

/** Whether a missing browser fails the browser tests (`KICI_REQUIRE_BROWSER=1`) instead of skipping them. */
export function browserRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.KICI_REQUIRE_BROWSER === '1';
}

const found = findChromium();

/**
 * `describe` for a suite that needs the browser. Everything a suite starts (orchestrator, agents,
 * the browser) belongs inside `body`, in its own `beforeAll`, so that nothing starts when the suite
 * is skipped.
 */
export function describeWithBrowser(name: string, body: () => void): void {
  if (found.executable) {
    describe(name, body);
  } else if (browserRequired()) {
    describe(name, () => {
      it('has a browser to run in', () => {
        throw new Error(`KICI_REQUIRE_BROWSER=1 but ${found.reason}`);
      });
    });
  } else {
    // Said out loud too: the default reporter shows a skipped file as a count only.
    console.warn(`browser tests skipped (${name}): ${found.reason}`);
    describe.skip(`${name} [skipped: ${found.reason}; KICI_REQUIRE_BROWSER=1 makes this a failure]`, body);
  }
}

/** Launch the found chromium headless; `--no-sandbox` because CI runs as root in a container. */
export async function launchChromium(): Promise<Browser> {
  if (!found.executable) throw new Error(`cannot launch chromium: ${found.reason}`);
  return chromium.launch({ executablePath: found.executable, args: ['--no-sandbox'], headless: true });
}
