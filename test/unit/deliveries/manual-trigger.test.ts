import { describe, expect, it } from 'vitest';
import { wouldRun } from '../../../src/deliveries/manual-runs.js';
import { checkLockfile, type Workflow } from '../../../src/workflows/index.js';

function workflow(triggers: unknown[]): Workflow {
  const checked = checkLockfile({ schemaVersion: 1, workflows: [{ name: 'w', triggers, jobs: [{ name: 'j', steps: [{ run: 'true' }] }] }] });
  if (!checked.ok) throw new Error(checked.error);
  return checked.lockfile.workflows[0];
}

const SHA = 'a'.repeat(40);

describe('which workflows a manual run starts', () => {
  it('matches a branch like a push of it, without applying paths filters', () => {
    expect(wouldRun(workflow([{ _type: 'push', branches: ['main'], paths: ['src/**'] }]), 'main', SHA)).toBe(true);
    expect(wouldRun(workflow([{ _type: 'push', branches: ['release/*'] }]), 'main', SHA)).toBe(false);
    expect(wouldRun(workflow([{ _type: 'push', branches: ['!main'] }]), 'main', SHA)).toBe(false);
  });

  it('never starts workflows that only pull requests, tags or webhooks trigger', () => {
    expect(wouldRun(workflow([{ _type: 'pr', targetBranches: ['main'] }]), 'main', SHA)).toBe(false);
    expect(wouldRun(workflow([{ _type: 'tag', patterns: ['v*'] }]), null, SHA)).toBe(false);
    expect(wouldRun(workflow([]), null, SHA)).toBe(false);
  });

  it('starts every push-triggered workflow for a bare commit', () => {
    expect(wouldRun(workflow([{ _type: 'push', branches: ['release/*'] }]), null, SHA)).toBe(true);
  });
});
