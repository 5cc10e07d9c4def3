import { describe, expect, it } from 'vitest';
import { DEFAULT_PROTECTION, currentGroupRules, withCurrentRules, type Environment, type ProtectionRules } from '../../../src/environments/index.js';

const T0 = Date.parse('2026-12-07T00:00:00Z');

function env(name: string, rules: Partial<ProtectionRules> = {}, updatedAt = T0, extra: Partial<Environment> = {}): Environment {
  return { id: `env-${name}`, orgId: 'acme', name, type: 'fixed', globPattern: null, createdAt: new Date(T0), updatedAt: new Date(updatedAt), ...DEFAULT_PROTECTION, ...rules, ...extra };
}

describe("a concurrency group's rules as the environments say now", () => {
  const envs = [
    env('production', { concurrencyLimit: 2, concurrencyStrategy: 'cancel-pending' }, T0 + 5000),
    env('staging'),
    env('review/*', { concurrencyLimit: 1 }, T0 + 1000, { type: 'glob', globPattern: 'review/*' }),
  ];

  it('are those of the environment the group is named after, when it has a limit', () => {
    expect(currentGroupRules(envs, 'production')).toEqual({ limit: 2, strategy: 'cancel-pending', rulesAt: T0 + 5000 });
    // A glob environment's group is named after the job's own name.
    expect(currentGroupRules(envs, 'review/PR-7')).toEqual({ limit: 1, strategy: 'queue', rulesAt: T0 + 1000 });
    expect(currentGroupRules(envs, 'staging'), 'no limit: nothing to say').toBeUndefined();
    expect(currentGroupRules(envs, 'deploys'), "a job's own concurrencyGroup").toBeUndefined();
  });

  it('replace what the stored jobs read only when they are as new or newer', () => {
    const stored = { running: [{ runId: 'r1', jobId: 'j1' }], waiting: [], settings: { limit: 0, strategy: 'queue' as const, rulesAt: T0 + 2000 } };
    expect(withCurrentRules(stored, { limit: 1, strategy: 'queue', rulesAt: T0 + 3000 }).settings).toEqual({ limit: 1, strategy: 'queue', rulesAt: T0 + 3000 });
    expect(withCurrentRules(stored, { limit: 5, strategy: 'queue', rulesAt: T0 + 1000 }).settings?.limit, 'older rules lose').toBe(0);
    expect(withCurrentRules(stored, undefined)).toBe(stored);
    expect(withCurrentRules({ running: [], waiting: [] }, { limit: 3, strategy: 'queue', rulesAt: T0 }).settings?.limit).toBe(3);
  });
});
