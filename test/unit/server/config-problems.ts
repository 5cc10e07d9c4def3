import { expect } from 'vitest';
// Imported from the file itself so these tests do not load the whole composition root.
import { ConfigError, loadConfig } from '../../../src/server/config.js';

/** What loadConfig refuses in `env`; fails the test when it accepts it. */
export function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected loadConfig to refuse this environment');
}
