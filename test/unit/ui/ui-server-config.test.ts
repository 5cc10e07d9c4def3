import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/server/config.js';
import { orchestratorVariable } from '../../../src/server/variables.js';
import { problemsOf } from '../server/config-problems.js';

describe('KICI_UI_SESSION_HOURS', () => {
  it('keeps a web view sign-in 12 hours by default; fractions of an hour are allowed', () => {
    expect(loadConfig({}).uiSessionMs).toBe(12 * 3_600_000);
    expect(loadConfig({ KICI_UI_SESSION_HOURS: '0.5' }).uiSessionMs).toBe(1_800_000);
    expect(loadConfig({ KICI_UI_SESSION_HOURS: '720' }).uiSessionMs).toBe(720 * 3_600_000);
  });

  it('refuses what is not a number of hours above 0 and at most 720, naming the variable', () => {
    expect(problemsOf({ KICI_UI_SESSION_HOURS: '0' })).toEqual([expect.stringMatching(/^KICI_UI_SESSION_HOURS: must be a number of hours above 0/)]);
    expect(problemsOf({ KICI_UI_SESSION_HOURS: '-3' })).toHaveLength(1);
    expect(problemsOf({ KICI_UI_SESSION_HOURS: '721' })).toEqual([expect.stringMatching(/^KICI_UI_SESSION_HOURS: must be at most 720 hours/)]);
    expect(problemsOf({ KICI_UI_SESSION_HOURS: '12h' })).toHaveLength(1);
  });

  it('is in the registry with its default', () => {
    expect(orchestratorVariable('KICI_UI_SESSION_HOURS')).toMatchObject({ handling: 'read', default: '12' });
  });
});
