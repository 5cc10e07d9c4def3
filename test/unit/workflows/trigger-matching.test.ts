import { describe, it, expect } from 'vitest';
import {
  matchWorkflow,
  matchWorkflows,
  needsChangedFiles,
  hasGitIndependentTriggers,
  type CiEvent,
} from '../../../src/workflows/index.js';
import { LOCKFILE_EXAMPLE, lockfileOf, workflowWith } from './fixtures.js';

const push = (branch: string, changedFiles?: string[]): CiEvent => ({ type: 'push', branch, changedFiles });

function matches(triggers: unknown[], event: CiEvent): boolean {
  return matchWorkflow(workflowWith(triggers), event).matched;
}

describe('matchWorkflow: order and summaries', () => {
  it('never matches a workflow without triggers', () => {
    const decision = matchWorkflow(workflowWith([]), push('main'));
    expect(decision).toEqual({ workflowName: 'ci', matched: false, checks: [], summary: 'No triggers defined' });
  });

  it('takes the first matching trigger and keeps only its checks', () => {
    const workflow = workflowWith([
      { _type: 'tag', patterns: ['v*'] },
      { _type: 'push', branches: ['dev'] },
      { _type: 'push', branches: ['main'] },
      { _type: 'push' },
    ]);
    const decision = matchWorkflow(workflow, push('main'));
    expect(decision.matched).toBe(true);
    expect(decision.matchedTrigger).toBe(2);
    expect(decision.summary).toBe('Matched trigger 2 (push)');
    expect(decision.checks).toEqual([
      { trigger: 2, check: 'event', pattern: 'push', value: 'push', passed: true },
      { trigger: 2, check: 'branch', pattern: 'main', value: 'main', passed: true },
    ]);
  });

  it('concatenates every trigger’s checks when nothing matches', () => {
    const workflow = workflowWith([
      { _type: 'tag', patterns: ['v*'] },
      { _type: 'push', branches: ['main', 'dev'] },
    ]);
    const decision = matchWorkflow(workflow, push('feat/x'));
    expect(decision.matched).toBe(false);
    expect(decision.matchedTrigger).toBeUndefined();
    expect(decision.summary).toBe('No triggers matched');
    expect(decision.checks).toEqual([
      { trigger: 0, check: 'event', pattern: 'tag', value: 'push', passed: false, reason: 'event is push, not tag' },
      { trigger: 1, check: 'event', pattern: 'push', value: 'push', passed: true },
      { trigger: 1, check: 'branch', pattern: 'main|dev', value: 'feat/x', passed: false, reason: 'no pattern matched' },
    ]);
  });

  it('decides every workflow of a lock file', () => {
    const lockfile = lockfileOf({
      schemaVersion: 1,
      workflows: [
        { name: 'ci', triggers: [{ _type: 'push' }], jobs: [{ name: 'a', steps: [{ run: 'x' }] }] },
        { name: 'release', triggers: [{ _type: 'tag' }], jobs: [{ name: 'a', steps: [{ run: 'x' }] }] },
      ],
    });
    const decisions = matchWorkflows(lockfile, push('main'));
    expect(decisions.map((d) => [d.workflowName, d.matched])).toEqual([
      ['ci', true],
      ['release', false],
    ]);
  });

  it('matches the LOCKFILE.md example as documented', () => {
    const lockfile = lockfileOf(JSON.parse(LOCKFILE_EXAMPLE));
    const [decision] = matchWorkflows(lockfile, push('release/1.2', ['src/a.ts', 'README.md']));
    expect(decision.summary).toBe('Matched trigger 0 (push)');
    expect(matchWorkflows(lockfile, push('release/1.2', ['docs/x.md']))[0].matched).toBe(false);
    expect(matchWorkflows(lockfile, { type: 'tag', branch: 'v1.0.0' })[0].summary).toBe('Matched trigger 2 (tag)');
  });
});

describe('push triggers', () => {
  it('checks the event type strictly', () => {
    expect(matches([{ _type: 'push' }], { type: 'tag', branch: 'main' })).toBe(false);
    expect(matches([{ _type: 'push' }], push('anything'))).toBe(true);
  });

  it('matches branch globs, where * stops at a slash', () => {
    const triggers = [{ _type: 'push', branches: ['release/*'] }];
    expect(matches(triggers, push('release/1.0'))).toBe(true);
    expect(matches(triggers, push('release/1.0/hotfix'))).toBe(false);
    expect(matches([{ _type: 'push', branches: ['release/**'] }], push('release/1.0/hotfix'))).toBe(true);
  });

  it('matches branch regexes with flags', () => {
    const triggers = [{ _type: 'push', branches: [{ regex: '^rel/\\d+$', flags: 'i' }] }];
    expect(matches(triggers, push('REL/12'))).toBe(true);
    expect(matches(triggers, push('rel/x'))).toBe(false);
  });

  it('lets a ! pattern exclude and passes on only exclusions', () => {
    const decision = matchWorkflow(workflowWith([{ _type: 'push', branches: ['*', '!wip-*'] }]), push('wip-1'));
    expect(decision.matched).toBe(false);
    expect(decision.checks[1]).toMatchObject({ check: 'branch', passed: false, reason: 'excluded by !wip-*' });
    expect(matches([{ _type: 'push', branches: ['!wip-*'] }], push('main'))).toBe(true);
    expect(matches([{ _type: 'push', branches: ['!wip-*'] }], push('wip-2'))).toBe(false);
  });

  it('fails a branch filter when the event has no branch', () => {
    const decision = matchWorkflow(workflowWith([{ _type: 'push', branches: ['main'] }]), { type: 'push' });
    expect(decision.checks[1]).toEqual({
      trigger: 0,
      check: 'branch',
      pattern: 'main',
      value: '',
      passed: false,
      reason: 'event has no branch',
    });
  });
});

describe('paths filters', () => {
  const triggers = (paths: string[]) => [{ _type: 'push', paths }];

  it('passes without a filter even with no changed files', () => {
    expect(matches([{ _type: 'push' }], push('main'))).toBe(true);
  });

  it('fails a filter when there are no changed files', () => {
    const decision = matchWorkflow(workflowWith(triggers(['src/**'])), push('main'));
    expect(decision.checks[1]).toMatchObject({ check: 'paths', passed: false, reason: 'no changed files' });
    expect(matches(triggers(['src/**']), push('main', []))).toBe(false);
    expect(matches(triggers(['!docs/**']), push('main', []))).toBe(false);
  });

  it('matches when any remaining file matches an include', () => {
    expect(matches(triggers(['src/**']), push('main', ['README.md', 'src/a/b.ts']))).toBe(true);
    expect(matches(triggers(['src/**']), push('main', ['README.md']))).toBe(false);
  });

  it('drops excluded files before looking at includes', () => {
    const only = triggers(['src/**', '!**/*.md']);
    expect(matches(only, push('main', ['src/notes.md']))).toBe(false);
    expect(matches(only, push('main', ['src/notes.md', 'src/x.ts']))).toBe(true);
  });

  it('fails when every changed file is excluded', () => {
    const decision = matchWorkflow(workflowWith(triggers(['!**/*.md'])), push('main', ['a.md', 'docs/b.md']));
    expect(decision.checks[1]).toMatchObject({ passed: false, reason: 'every changed file is excluded' });
  });

  it('passes on only negations when something survives them', () => {
    expect(matches(triggers(['!**/*.md']), push('main', ['a.md', 'src/x.ts']))).toBe(true);
  });

  it('counts dotfiles inside a ** glob', () => {
    expect(matches(triggers(['src/**']), push('main', ['src/.eslintrc']))).toBe(true);
  });

  it('shows at most ten files in the trace', () => {
    const files = Array.from({ length: 12 }, (_, i) => `f${i}.txt`);
    const decision = matchWorkflow(workflowWith(triggers(['src/**'])), push('main', files));
    expect(decision.checks[1].value).toBe(`${files.slice(0, 10).join(', ')} (+2 more)`);
  });
});

describe('tag triggers', () => {
  it('matches globs on the tag name', () => {
    expect(matches([{ _type: 'tag', patterns: ['v*'] }], { type: 'tag', branch: 'v1.2.3' })).toBe(true);
    expect(matches([{ _type: 'tag', patterns: ['v*'] }], { type: 'tag', branch: 'nightly' })).toBe(false);
    expect(matches([{ _type: 'tag' }], { type: 'tag', branch: 'nightly' })).toBe(true);
  });
});

describe('pr triggers', () => {
  const pr = (extra: Partial<CiEvent>): CiEvent => ({
    type: 'pull_request',
    action: 'opened',
    branch: 'main',
    sourceBranch: 'feat/x',
    ...extra,
  });

  it('matches the pull_request event type only', () => {
    expect(matches([{ _type: 'pr' }], pr({}))).toBe(true);
    expect(matches([{ _type: 'pr' }], push('main'))).toBe(false);
  });

  it('checks the action against events, a missing action being ""', () => {
    const triggers = [{ _type: 'pr', events: ['opened', 'synchronize'] }];
    expect(matches(triggers, pr({ action: 'synchronize' }))).toBe(true);
    expect(matches(triggers, pr({ action: 'closed' }))).toBe(false);
    const decision = matchWorkflow(workflowWith(triggers), pr({ action: undefined }));
    expect(decision.checks[1]).toMatchObject({ check: 'action', value: '', passed: false });
  });

  it('checks target and source branches', () => {
    expect(matches([{ _type: 'pr', targetBranches: ['main'] }], pr({ branch: 'dev' }))).toBe(false);
    expect(matches([{ _type: 'pr', sourceBranches: ['feat/*'] }], pr({}))).toBe(true);
    expect(matches([{ _type: 'pr', sourceBranches: ['fix/*'] }], pr({}))).toBe(false);
  });

  it('fails a sourceBranches filter when the event has no source branch', () => {
    const decision = matchWorkflow(workflowWith([{ _type: 'pr', sourceBranches: ['*'] }]), pr({ sourceBranch: undefined }));
    expect(decision.checks[1]).toMatchObject({ check: 'source_branch', passed: false, reason: 'event has no source branch' });
  });

  it('applies paths like push', () => {
    expect(matches([{ _type: 'pr', paths: ['src/**'] }], pr({ changedFiles: ['src/a.ts'] }))).toBe(true);
    expect(matches([{ _type: 'pr', paths: ['src/**'] }], pr({}))).toBe(false);
  });
});

describe('webhook triggers', () => {
  it('matches any event type when events is empty', () => {
    const decision = matchWorkflow(workflowWith([{ _type: 'webhook' }]), { type: 'deploy' });
    expect(decision.matched).toBe(true);
    expect(decision.checks).toEqual([{ trigger: 0, check: 'event', pattern: '*', value: 'deploy', passed: true }]);
  });

  it('checks membership of the event type and action', () => {
    const triggers = [{ _type: 'webhook', events: ['release', 'push'], actions: ['published'] }];
    expect(matches(triggers, { type: 'release', action: 'published' })).toBe(true);
    expect(matches(triggers, { type: 'release', action: 'created' })).toBe(false);
    expect(matches(triggers, { type: 'release' })).toBe(false);
    expect(matches(triggers, { type: 'star', action: 'published' })).toBe(false);
  });
});

describe('generic_webhook triggers', () => {
  it('needs the exact source name', () => {
    const triggers = [{ _type: 'generic_webhook', source: 'billing' }];
    expect(matches(triggers, { type: 'invoice', sourceName: 'billing' })).toBe(true);
    expect(matches(triggers, { type: 'invoice', sourceName: 'billing-2' })).toBe(false);
    const decision = matchWorkflow(workflowWith(triggers), { type: 'push', branch: 'main' });
    expect(decision.checks[0]).toMatchObject({ check: 'source', passed: false, reason: 'delivery has no generic source' });
  });

  it('ignores deliveries of other source kinds that share the name', () => {
    const triggers = [{ _type: 'generic_webhook', source: 'billing' }];
    expect(matches(triggers, { type: 'invoice', sourceName: 'billing', sourceKind: 'generic' })).toBe(true);
    const decision = matchWorkflow(workflowWith(triggers), { type: 'push', sourceName: 'billing', sourceKind: 'git' });
    expect(decision.matched).toBe(false);
    expect(decision.checks[0]).toMatchObject({ check: 'source', reason: 'delivery came through a git source' });
  });

  it('filters on event types when given', () => {
    const triggers = [{ _type: 'generic_webhook', source: 'billing', events: ['invoice.paid'] }];
    expect(matches(triggers, { type: 'invoice.paid', sourceName: 'billing' })).toBe(true);
    expect(matches(triggers, { type: 'invoice.void', sourceName: 'billing' })).toBe(false);
  });
});

describe('lock-file level questions', () => {
  it('needs changed files only when some trigger filters on paths', () => {
    expect(needsChangedFiles(lockfileOf(JSON.parse(LOCKFILE_EXAMPLE)))).toBe(true);
    const noPaths = lockfileOf({
      schemaVersion: 1,
      workflows: [
        {
          name: 'ci',
          triggers: [{ _type: 'push', branches: ['main'] }, { _type: 'pr', paths: [] }],
          jobs: [{ name: 'a', steps: [{ run: 'x' }] }],
        },
      ],
    });
    expect(needsChangedFiles(noPaths)).toBe(false);
  });

  it('knows which workflows have triggers not tied to git', () => {
    expect(hasGitIndependentTriggers(workflowWith([{ _type: 'push' }, { _type: 'tag' }]))).toBe(false);
    expect(hasGitIndependentTriggers(workflowWith([{ _type: 'push' }, { _type: 'webhook' }]))).toBe(true);
    expect(hasGitIndependentTriggers(workflowWith([{ _type: 'generic_webhook', source: 's' }]))).toBe(true);
  });
});
