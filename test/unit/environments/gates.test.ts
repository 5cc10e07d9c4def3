import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import {
  DEFAULT_PROTECTION,
  bindEnvironments,
  gateJob,
  type BoundEnvironment,
  type GateDecision,
  type GateEnvironment,
  type GateEvent,
  type PassableGate,
  type ProtectionRules,
} from '../../../src/environments/index.js';

const T0 = Date.parse('2026-12-07T00:00:00Z');
const clock = new ManualClock(T0);
let ids = 0;

function env(name: string, rules: Partial<ProtectionRules> = {}, updatedAt = T0): GateEnvironment {
  return { id: `env-${++ids}`, name, updatedAt: new Date(updatedAt), ...DEFAULT_PROTECTION, ...rules };
}

const bound = (...envs: (GateEnvironment | string)[]): BoundEnvironment[] =>
  envs.map((e) => (typeof e === 'string' ? { name: e, environment: null } : { name: e.name, environment: e }));

const push: GateEvent = { type: 'push', branch: 'main', repo: 'acme/api' };
const pr = (trust: GateEvent['trust'], branch = 'main'): GateEvent => ({ type: 'pull_request', branch, repo: 'acme/api', trust });

function gate(envs: (GateEnvironment | string)[], event: GateEvent = push, passed: PassableGate[] = [], concurrencyGroup?: string): GateDecision {
  return gateJob({ environments: bound(...envs), concurrencyGroup }, event, new Set(passed), clock);
}

/** The seed's "recent protection rule rejections" query: `LIKE` is case-sensitive. */
const seedQueryFinds = (message: string) => message.includes('branch') || message.includes('protection');

function rejected(d: GateDecision) {
  if (d.verdict !== 'reject') throw new Error(`expected a rejection, got ${d.verdict}`);
  expect(seedQueryFinds(d.reason)).toBe(true);
  return d;
}

describe('gate: enabled', () => {
  it('rejects a disabled environment, naming it', () => {
    const d = rejected(gate([env('production', { enabled: false })]));
    expect(d.gate).toBe('enabled');
    expect(d.rejections).toEqual([{ environment: 'production', gate: 'enabled', code: 'env_disabled', detail: "environment 'production' is disabled" }]);
    expect(d.reason).toBe("environment protection: environment 'production' is disabled");
  });

  it('rejects a name no environment matches, instead of running it unprotected', () => {
    const d = rejected(gate(['prodution']));
    expect(d.rejections[0]!.code).toBe('env_not_found');
    expect(d.reason).toBe("environment protection: environment 'prodution' is not configured");
  });

  it('rejects a disabled environment whatever else it asks for', () => {
    const d = gate([env('production', { enabled: false, branchRestrictions: ['nope'], requiredReviewers: ['alice'] })]);
    expect(rejected(d).rejections[0]!.code).toBe('env_disabled');
  });
});

describe('gate: branch, trigger type and repository', () => {
  const prod = env('production', { branchRestrictions: ['main', 'release/*'] });

  it('admits a branch one of the globs matches', () => {
    expect(gate([prod], { ...push, branch: 'main' }).verdict).toBe('admit');
    expect(gate([prod], { ...push, branch: 'release/1.2' }).verdict).toBe('admit');
  });

  it('rejects any other branch, in words the seed query finds', () => {
    const d = rejected(gate([prod], { ...push, branch: 'release/1.2/hotfix' }));
    expect(d.gate).toBe('branch');
    expect(d.rejections[0]!.code).toBe('branch_restricted');
    expect(d.reason).toBe("environment protection: branch 'release/1.2/hotfix' is not allowed in environment 'production' (branch restrictions: main, release/*)");
  });

  it("matches a pull request's target branch", () => {
    expect(gate([prod], pr(undefined, 'main')).verdict).toBe('admit');
    expect(rejected(gate([prod], pr(undefined, 'feature'))).rejections[0]!.code).toBe('branch_restricted');
  });

  it('matches a tag by its name and says it is a tag', () => {
    const tagged = env('production', { branchRestrictions: ['main', 'v*'] });
    expect(gate([tagged], { type: 'tag', branch: 'v1.0' }).verdict).toBe('admit');
    const d = rejected(gate([prod], { type: 'tag', branch: 'v1.0' }));
    expect(d.reason).toContain("tag 'v1.0' is not allowed in environment 'production' (branch restrictions");
  });

  it('rejects an event with no branch when the environment restricts branches, and lets it through when not', () => {
    expect(rejected(gate([prod], { type: 'deploy' })).reason).toContain('an event with no branch is not allowed');
    expect(gate([env('open')], { type: 'deploy' }).verdict).toBe('admit');
  });

  it('filters the trigger type', () => {
    const e = env('production', { triggerTypeFilters: ['push', 'tag'] });
    expect(gate([e], push).verdict).toBe('admit');
    const d = rejected(gate([e], pr(undefined)));
    expect(d.gate).toBe('branch');
    expect(d.rejections[0]!.code).toBe('trigger_filtered');
    expect(d.reason).toBe("environment protection: trigger type 'pull_request' is not allowed in environment 'production' (trigger type filters: push, tag)");
  });

  it('filters the repository, and a missing repository matches no pattern', () => {
    const e = env('production', { repoPatterns: ['acme/*'] });
    expect(gate([e], push).verdict).toBe('admit');
    expect(rejected(gate([e], { ...push, repo: 'other/api' })).rejections[0]!.code).toBe('repo_unmatched');
    expect(rejected(gate([e], { type: 'push', branch: 'main' })).reason).toContain('an event with no repository');
  });

  it('reports the first broken rule of an environment: branch, then trigger type, then repository', () => {
    const e = env('production', { branchRestrictions: ['main'], triggerTypeFilters: ['tag'], repoPatterns: ['x/*'] });
    expect(rejected(gate([e], { ...push, branch: 'dev' })).rejections.map((r) => r.code)).toEqual(['branch_restricted']);
    expect(rejected(gate([e], push)).rejections.map((r) => r.code)).toEqual(['trigger_filtered']);
    expect(rejected(gate([e], { ...push, type: 'tag' })).rejections.map((r) => r.code)).toEqual(['repo_unmatched']);
  });
});

describe('gate: trust', () => {
  it('holds a pull request whose author is below the minimum, as a security hold, never a rejection', () => {
    const d = gate([env('production', { minimumTrust: 'known' })], pr('unknown'));
    expect(d).toMatchObject({ verdict: 'hold', gate: 'trust', minimumTrust: 'known', trust: 'unknown', environments: ['production'] });
    if (d.verdict !== 'hold') throw new Error('unreachable');
    expect(d.reason).toBe("held for security review: environment 'production' requires a known author; this pull request's author is unknown");
  });

  it('orders the tiers unknown < known < trusted', () => {
    const known = env('staging', { minimumTrust: 'known' });
    const trusted = env('production', { minimumTrust: 'trusted' });
    expect(gate([known], pr('known')).verdict).toBe('admit');
    expect(gate([known], pr('trusted')).verdict).toBe('admit');
    expect(gate([trusted], pr('known'))).toMatchObject({ verdict: 'hold', gate: 'trust' });
    expect(gate([trusted], pr('trusted')).verdict).toBe('admit');
  });

  it('lets events without a tier through: pushes, tags, unresolved', () => {
    const trusted = env('production', { minimumTrust: 'trusted' });
    expect(gate([trusted], push).verdict).toBe('admit');
    expect(gate([trusted], { type: 'tag', branch: 'v1', repo: 'acme/api' }).verdict).toBe('admit');
    expect(gate([trusted], pr(null)).verdict).toBe('admit');
  });

  it('goes on once the security hold is approved', () => {
    expect(gate([env('production', { minimumTrust: 'trusted' })], pr('unknown'), ['trust']).verdict).toBe('admit');
  });
});

describe('gate: concurrency', () => {
  it('asks for a slot in the environment group when it has a limit', () => {
    const e = env('production', { concurrencyLimit: 2, concurrencyStrategy: 'cancel-pending' }, T0 + 5);
    expect(gate([e])).toEqual({
      verdict: 'queue',
      gate: 'concurrency',
      slots: [{ group: 'production', limit: 2, strategy: 'cancel-pending', environments: ['production'], rulesAt: T0 + 5 }],
    });
  });

  it('asks even at limit 0 (the group keeps the job waiting) and not at all without a limit', () => {
    expect(gate([env('production', { concurrencyLimit: 0 })])).toMatchObject({ verdict: 'queue', slots: [{ limit: 0 }] });
    expect(gate([env('production')]).verdict).toBe('admit');
  });

  it('names the slots it holds once admitted', () => {
    const d = gate([env('production', { concurrencyLimit: 1 })], push, ['concurrency']);
    expect(d).toMatchObject({ verdict: 'admit', slots: [{ group: 'production', limit: 1 }] });
  });

  it('groups a glob environment by the name the job asked for', () => {
    const reviews = env('reviews', { concurrencyLimit: 1 });
    const d = gateJob({ environments: [{ name: 'review/PR-7', environment: reviews }] }, push, new Set(), clock);
    expect(d).toMatchObject({ verdict: 'queue', slots: [{ group: 'review/PR-7', environments: ['review/PR-7'] }] });
  });
});

describe('gate: reviewers', () => {
  it('holds for every listed reviewer, expiring after the hold expiry', () => {
    const e = env('production', { requiredReviewers: ['bob', 'alice'], holdExpirySeconds: 600 });
    const d = gate([e]);
    expect(d).toEqual({
      verdict: 'hold',
      gate: 'reviewers',
      reviewers: ['alice', 'bob'],
      reason: "held for review: environment 'production' requires approval by alice, bob (every reviewer must approve)",
      environments: ['production'],
      environmentId: e.id,
      holdExpirySeconds: 600,
      expiresAt: T0 + 600_000,
    });
  });

  it('goes on once approved', () => {
    expect(gate([env('production', { requiredReviewers: ['alice'] })], push, ['reviewers']).verdict).toBe('admit');
  });
});

describe('gate: wait timer', () => {
  it('waits the timer, then goes on', () => {
    const e = env('production', { waitTimerSeconds: 300 });
    expect(gate([e])).toEqual({
      verdict: 'wait',
      gate: 'wait-timer',
      seconds: 300,
      until: T0 + 300_000,
      reason: "waiting 300 s: the wait timer of environment 'production'",
    });
    expect(gate([e], push, ['wait-timer']).verdict).toBe('admit');
  });

  it('still waits at 0 (for no time), and not at all without a timer', () => {
    expect(gate([env('production', { waitTimerSeconds: 0 })])).toMatchObject({ verdict: 'wait', seconds: 0, until: T0 });
    expect(gate([env('production', { waitTimerSeconds: null })]).verdict).toBe('admit');
  });
});

describe('gate order', () => {
  const guarded = env('production', {
    branchRestrictions: ['main'],
    minimumTrust: 'trusted',
    concurrencyLimit: 1,
    requiredReviewers: ['alice'],
    waitTimerSeconds: 60,
  });

  it('goes enabled → branch → trust → concurrency → reviewers → wait timer → admit', () => {
    const passed: PassableGate[] = [];
    const seen: string[] = [];
    for (;;) {
      const d = gate([guarded], pr('known'), passed);
      if (d.verdict === 'admit') break;
      if (d.verdict === 'reject') throw new Error(d.reason);
      seen.push(d.gate);
      passed.push(d.gate);
    }
    expect(seen).toEqual(['trust', 'concurrency', 'reviewers', 'wait-timer']);
  });

  it('rejects on the branch before holding for trust', () => {
    expect(rejected(gate([guarded], pr('unknown', 'dev'))).gate).toBe('branch');
  });

  it('decides the hard gates again after every other gate passed', () => {
    const all: PassableGate[] = ['trust', 'concurrency', 'reviewers', 'wait-timer'];
    expect(gate([guarded], pr('known'), all).verdict).toBe('admit');
    expect(rejected(gate([{ ...guarded, enabled: false }], pr('known'), all)).gate).toBe('enabled');
    expect(rejected(gate([guarded], pr('known', 'dev'), all)).gate).toBe('branch');
  });

  it('admits a job that names no environment', () => {
    expect(gate([])).toEqual({ verdict: 'admit', slots: [], environments: [] });
  });
});

describe('several environments', () => {
  it('rejects when any one rejects, naming each one at fault in the multi-environment form', () => {
    const d = rejected(gate([env('eu', { branchRestrictions: ['main'] }), env('us', { enabled: false }), env('ok'), 'asia'], { ...push, branch: 'dev' }));
    expect(d.rejections.map((r) => [r.environment, r.code])).toEqual([
      ['eu', 'branch_restricted'],
      ['us', 'env_disabled'],
      ['asia', 'env_not_found'],
    ]);
    expect(d.gate).toBe('branch');
    expect(d.reason).toBe(
      'environment protection: multi-environment gate: ' +
        "'eu' rejected (branch_restricted: branch 'dev' is not allowed in environment 'eu' (branch restrictions: main)); " +
        "'us' rejected (env_disabled: environment 'us' is disabled); " +
        "'asia' rejected (env_not_found: environment 'asia' is not configured)",
    );
  });

  it('requires the highest minimum trust, naming the environments the author falls short of', () => {
    const d = gate([env('staging', { minimumTrust: 'known' }), env('production', { minimumTrust: 'trusted' })], pr('known'));
    expect(d).toMatchObject({ verdict: 'hold', gate: 'trust', minimumTrust: 'trusted', environments: ['production'] });
    const both = gate([env('staging', { minimumTrust: 'known' }), env('production', { minimumTrust: 'trusted' })], pr('unknown'));
    expect(both).toMatchObject({ minimumTrust: 'trusted', environments: ['staging', 'production'] });
  });

  it('unions the reviewers (sorted, once each) and holds for the shortest expiry', () => {
    const eu = env('eu', { requiredReviewers: ['carol', 'alice'], holdExpirySeconds: 7200 });
    const us = env('us', { requiredReviewers: ['alice', 'bob'], holdExpirySeconds: 600 });
    const d = gate([env('plain', { holdExpirySeconds: 300 }), eu, us]);
    expect(d).toMatchObject({
      verdict: 'hold',
      gate: 'reviewers',
      reviewers: ['alice', 'bob', 'carol'],
      environments: ['eu', 'us'],
      environmentId: eu.id,
      holdExpirySeconds: 300,
      expiresAt: T0 + 300_000,
    });
    if (d.verdict !== 'hold') throw new Error('unreachable');
    expect(d.reason).toBe("held for review: environments 'eu', 'us' require approval by alice, bob, carol (every reviewer must approve)");
  });

  it('waits the longest timer that is set (a 0 counts, a null does not)', () => {
    expect(gate([env('a', { waitTimerSeconds: 60 }), env('b', { waitTimerSeconds: 600 }), env('c')])).toMatchObject({ seconds: 600, reason: expect.stringContaining("'b'") });
    expect(gate([env('a'), env('b', { waitTimerSeconds: 0 })])).toMatchObject({ verdict: 'wait', seconds: 0 });
  });

  it('needs a slot in the group of every environment with a limit, in name order', () => {
    const d = gate([env('us', { concurrencyLimit: 1 }), env('free'), env('eu', { concurrencyLimit: 3, concurrencyStrategy: 'cancel-pending' })]);
    expect(d).toEqual({
      verdict: 'queue',
      gate: 'concurrency',
      slots: [
        { group: 'eu', limit: 3, strategy: 'cancel-pending', environments: ['eu'], rulesAt: T0 },
        { group: 'us', limit: 1, strategy: 'queue', environments: ['us'], rulesAt: T0 },
      ],
    });
  });

  it('adds the job concurrencyGroup under the smallest limit and the first limited environment strategy', () => {
    const d = gate(
      [env('free', { concurrencyStrategy: 'cancel-pending' }), env('us', { concurrencyLimit: 4 }, T0 + 1), env('eu', { concurrencyLimit: 2, concurrencyStrategy: 'cancel-pending' }, T0 + 9)],
      push,
      [],
      'deploy',
    );
    expect(d).toMatchObject({
      slots: [
        { group: 'deploy', limit: 2, strategy: 'queue', environments: ['us', 'eu'], rulesAt: T0 + 9 },
        { group: 'eu', limit: 2 },
        { group: 'us', limit: 4 },
      ],
    });
  });

  it("merges a concurrencyGroup named like an environment into that environment's group", () => {
    const d = gate([env('production', { concurrencyLimit: 3 }), env('eu', { concurrencyLimit: 1 })], push, [], 'production');
    expect(d).toMatchObject({ slots: [{ group: 'eu', limit: 1 }, { group: 'production', limit: 1, environments: ['production', 'eu'] }] });
  });

  it('ignores a concurrencyGroup when no environment has a limit (the limit is the environment rule)', () => {
    expect(gate([env('production')], push, [], 'deploy').verdict).toBe('admit');
    expect(gate([], push, [], 'deploy').verdict).toBe('admit');
  });

  it('counts a name asked for twice once', () => {
    const e = env('production', { concurrencyLimit: 1, requiredReviewers: ['alice'] });
    expect(gate([e, e])).toMatchObject({ slots: [{ group: 'production', environments: ['production'] }] });
    expect(gate([e, e], push, ['concurrency'])).toMatchObject({ environments: ['production'] });
    expect(rejected(gate(['ghost', 'ghost'])).rejections).toHaveLength(1);
  });

  it('admits with every environment in the job order (for their variables)', () => {
    const a = env('a');
    const b = env('b');
    expect(gate([b, a])).toEqual({ verdict: 'admit', slots: [], environments: [b, a] });
  });
});

describe('bindEnvironments', () => {
  it('resolves each name to its environment or to null, in the job order', () => {
    const prod = { ...env('production'), type: 'fixed' as const, globPattern: null, createdAt: new Date(T0) };
    const reviews = { ...env('reviews'), type: 'glob' as const, globPattern: 'review/*', createdAt: new Date(T0) };
    expect(bindEnvironments([prod, reviews], ['review/PR-1', 'staging', 'production'])).toEqual([
      { name: 'review/PR-1', environment: reviews },
      { name: 'staging', environment: null },
      { name: 'production', environment: prod },
    ]);
  });
});
