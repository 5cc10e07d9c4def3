import { describe, it, expect } from 'vitest';
import { unsupportedFields } from '../../../src/workflows/index.js';
import { LOCKFILE_EXAMPLE, lockfileOf, workflowOfJobs } from './fixtures.js';

const NO_ENVIRONMENT = 'secrets come from the scopes bound to the job\'s environments, and job "b" names no environment';

describe('unsupportedFields', () => {
  it('lets environments through: the RunActor gates them', () => {
    const lockfile = lockfileOf(JSON.parse(LOCKFILE_EXAMPLE));
    expect(unsupportedFields(lockfile.workflows[0], 0)).toBeNull();
  });

  it('refuses secrets in a job that names no environment, naming the field (at the workflow index given)', () => {
    const workflow = workflowOfJobs([
      { name: 'a', steps: [{ run: 'x' }] },
      { name: 'b', steps: [{ run: 'x' }, { run: 'y', secrets: ['TOKEN'] }] },
    ]);
    expect(unsupportedFields(workflow, 3)).toBe(`workflows[3].jobs[1].steps[1].secrets: ${NO_ENVIRONMENT}`);
  });

  it('lets secrets through in a job that names an environment: they come from its bindings', () => {
    const workflow = workflowOfJobs([{ name: 'b', environments: ['prod'], steps: [{ run: 'x', secrets: ['TOKEN'] }] }]);
    expect(unsupportedFields(workflow, 0)).toBeNull();
  });

  it('an empty secrets list names no secret', () => {
    expect(unsupportedFields(workflowOfJobs([{ name: 'a', steps: [{ run: 'x', secrets: [] }] }]), 0)).toBeNull();
  });

  it('lets a job concurrency group through: the RunActor gates it', () => {
    const workflow = workflowOfJobs([{ name: 'deploy', concurrencyGroup: 'prod', environments: ['prod'], steps: [{ run: 'x' }] }]);
    expect(unsupportedFields(workflow, 0)).toBeNull();
  });

  it('is null for a workflow that uses no secrets', () => {
    expect(unsupportedFields(workflowOfJobs([{ name: 'a', steps: [{ run: 'x' }] }]), 0)).toBeNull();
  });
});
