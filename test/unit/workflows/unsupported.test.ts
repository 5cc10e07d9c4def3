import { describe, it, expect } from 'vitest';
import { unsupportedFields } from '../../../src/workflows/index.js';
import { LOCKFILE_EXAMPLE, lockfileOf, workflowOfJobs } from './fixtures.js';

describe('unsupportedFields', () => {
  it('lets environments through: the RunActor gates them', () => {
    const lockfile = lockfileOf(JSON.parse(LOCKFILE_EXAMPLE));
    expect(unsupportedFields(lockfile.workflows[0], 0)).toBeNull();
  });

  it('uses the workflow index it is given', () => {
    const workflow = workflowOfJobs([
      { name: 'a', steps: [{ run: 'x' }] },
      { name: 'b', steps: [{ run: 'x' }, { run: 'y', secrets: ['TOKEN'] }] },
    ]);
    expect(unsupportedFields(workflow, 3)).toBe('workflows[3].jobs[1].steps[1].secrets: secrets are not supported yet');
  });

  it('counts an empty secrets list as naming the field', () => {
    const workflow = workflowOfJobs([{ name: 'a', steps: [{ run: 'x', secrets: [] }] }]);
    expect(unsupportedFields(workflow, 0)).toBe('workflows[0].jobs[0].steps[0].secrets: secrets are not supported yet');
  });

  it('reports the first field in document order', () => {
    const workflow = workflowOfJobs([
      { name: 'a', steps: [{ run: 'x', secrets: ['S'] }] },
      { name: 'b', environments: ['prod'], steps: [{ run: 'x' }] },
    ]);
    expect(unsupportedFields(workflow, 0)).toBe('workflows[0].jobs[0].steps[0].secrets: secrets are not supported yet');
  });

  it('lets a job concurrency group through: the RunActor gates it', () => {
    const workflow = workflowOfJobs([{ name: 'deploy', concurrencyGroup: 'prod', environments: ['prod'], steps: [{ run: 'x' }] }]);
    expect(unsupportedFields(workflow, 0)).toBeNull();
  });

  it('is null for a workflow that uses no secrets', () => {
    expect(unsupportedFields(workflowOfJobs([{ name: 'a', steps: [{ run: 'x' }] }]), 0)).toBeNull();
  });
});
