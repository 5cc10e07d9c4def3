import { describe, it, expect } from 'vitest';
import { planRun, rootJobs, type PlannedEdge } from '../../../src/workflows/index.js';
import { LOCKFILE_EXAMPLE, lockfileOf, workflowOfJobs } from './fixtures.js';

const edgePairs = (edges: PlannedEdge[]) => edges.map((e) => `${e.upstream} -> ${e.job} [${e.runOn.join(',')}]`);

describe('planRun', () => {
  it('plans the LOCKFILE.md example', () => {
    const plan = planRun(lockfileOf(JSON.parse(LOCKFILE_EXAMPLE)).workflows[0]);
    expect(plan.jobs.map((j) => j.name)).toEqual(['build', 'test (20, 1)', 'test (22, 1)', 'test (22, 2)', 'deploy']);
    expect(plan.jobs[0]).toMatchObject({ baseName: 'build', matrix: null, stepNames: ['compile'] });
    expect(plan.jobs[1]).toMatchObject({ baseName: 'test', matrix: { node: '20', shard: '1' }, stepNames: ['step-1'] });
    expect(plan.jobs[1].config.name).toBe('test');
    expect(edgePairs(plan.edges)).toEqual([
      'build -> test (20, 1) [success]',
      'build -> test (22, 1) [success]',
      'build -> test (22, 2) [success]',
      'test (20, 1) -> deploy [success]',
      'test (22, 1) -> deploy [success]',
      'test (22, 2) -> deploy [success]',
    ]);
    expect(plan.edges[3].upstreamBaseName).toBe('test');
    expect(rootJobs(plan).map((j) => j.name)).toEqual(['build']);
  });

  it('gives every downstream matrix child the full edge set of a matrix upstream', () => {
    const plan = planRun(
      workflowOfJobs([
        { name: 'a', matrix: { n: ['1', '2'] }, steps: [{ run: 'x' }] },
        { name: 'b', matrix: { m: ['x', 'y', 'z'] }, needs: [{ name: 'a', runOn: ['success', 'failed'] }], steps: [{ run: 'x' }] },
      ]),
    );
    expect(plan.edges).toHaveLength(6);
    expect(edgePairs(plan.edges)).toEqual([
      'a (1) -> b (x) [success,failed]',
      'a (2) -> b (x) [success,failed]',
      'a (1) -> b (y) [success,failed]',
      'a (2) -> b (y) [success,failed]',
      'a (1) -> b (z) [success,failed]',
      'a (2) -> b (z) [success,failed]',
    ]);
    expect(rootJobs(plan).map((j) => j.name)).toEqual(['a (1)', 'a (2)']);
  });

  it('names unnamed steps step-N from 1 and keeps given names', () => {
    const plan = planRun(workflowOfJobs([{ name: 'a', steps: [{ run: 'x' }, { name: 'lint', run: 'y' }, { run: 'z' }] }]));
    expect(plan.jobs[0].stepNames).toEqual(['step-1', 'lint', 'step-3']);
  });

  it('gives each edge its own runOn list', () => {
    const plan = planRun(
      workflowOfJobs([
        { name: 'a', steps: [{ run: 'x' }] },
        { name: 'b', needs: ['a'], steps: [{ run: 'x' }] },
        { name: 'c', needs: ['a'], steps: [{ run: 'x' }] },
      ]),
    );
    plan.edges[0].runOn.push('failed');
    expect(plan.edges[1].runOn).toEqual(['success']);
  });
});
