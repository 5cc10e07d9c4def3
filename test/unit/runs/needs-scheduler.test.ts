import { describe, it, expect } from 'vitest';
import {
  onJobTerminal,
  recomputeNeeds,
  rootJobs,
  type JobStatus,
  type NeedsEdge,
  type SchedulerJob,
} from '../../../src/runs/index.js';

const ALWAYS: JobStatus[] = ['success', 'failed', 'cancelled', 'skipped', 'timed_out_stale', 'drift_dropped'];

function job(id: string, status: JobStatus = 'pending', needsSatisfied = false): SchedulerJob {
  return { id, name: id, status, needsSatisfied };
}
function edge(jobId: string, upstreamJobId: string, runOn: JobStatus[] = ['success']): NeedsEdge {
  return { jobId, upstreamJobId, runOn };
}

describe('needs scheduler', () => {
  //   a → b, a → c, (b, c) → d
  const diamondEdges = [edge('b', 'a'), edge('c', 'a'), edge('d', 'b'), edge('d', 'c')];

  it('finds the root jobs', () => {
    const jobs = [job('a'), job('b'), job('c'), job('d')];
    expect(rootJobs(jobs, diamondEdges)).toEqual(['a']);
    expect(rootJobs([job('x'), job('y')], [])).toEqual(['x', 'y']);
  });

  it('releases both arms of a diamond, and the join only once both are done', () => {
    const afterA = [job('a', 'success', true), job('b'), job('c'), job('d')];
    expect(onJobTerminal(afterA, diamondEdges, 'a')).toEqual({ release: ['b', 'c'], skip: [], cancel: [] });

    const afterB = [job('a', 'success', true), job('b', 'success', true), job('c', 'running', true), job('d')];
    expect(onJobTerminal(afterB, diamondEdges, 'b')).toEqual({ release: [], skip: [], cancel: [] });

    const afterC = [job('a', 'success', true), job('b', 'success', true), job('c', 'success', true), job('d')];
    expect(onJobTerminal(afterC, diamondEdges, 'c')).toEqual({ release: ['d'], skip: [], cancel: [] });
  });

  it('skips a dependent whose upstream failed, and cascades the skip', () => {
    const jobs = [job('a', 'failed', true), job('b'), job('c'), job('d')];
    expect(onJobTerminal(jobs, diamondEdges, 'a')).toEqual({ release: [], skip: ['b', 'c', 'd'], cancel: [] });
  });

  it('skips as soon as one upstream ends outside runOn, without waiting for the others', () => {
    const jobs = [job('a', 'success', true), job('b', 'failed', true), job('c', 'running', true), job('d')];
    expect(onJobTerminal(jobs, diamondEdges, 'b')).toEqual({ release: [], skip: ['d'], cancel: [] });
  });

  it('releases an on-failure / always dependent when its upstream fails, and stops the cascade there', () => {
    // build → test; test → report (always); test → deploy (success); build → notify (on-failure)
    const edges = [
      edge('test', 'build'),
      edge('report', 'test', ALWAYS),
      edge('deploy', 'test'),
      edge('notify', 'build', ['failed', 'timed_out_stale']),
    ];
    const jobs = [job('build', 'failed', true), job('test'), job('report'), job('deploy'), job('notify')];
    expect(onJobTerminal(jobs, edges, 'build')).toEqual({
      release: ['report', 'notify'],
      skip: ['test', 'deploy'],
      cancel: [],
    });
  });

  it('treats timed_out_stale as a failure for runOn', () => {
    const edges = [edge('b', 'a', ['failed', 'timed_out_stale']), edge('c', 'a')];
    const jobs = [job('a', 'timed_out_stale', true), job('b'), job('c')];
    expect(onJobTerminal(jobs, edges, 'a')).toEqual({ release: ['b'], skip: ['c'], cancel: [] });
  });

  it('waits for every matrix child (full edge set) before releasing a matrix downstream', () => {
    const up = ['t (1)', 't (2)'];
    const down = ['d (x)', 'd (y)'];
    const edges = down.flatMap((d) => up.map((u) => edge(d, u)));
    const partial = [job('t (1)', 'success', true), job('t (2)', 'running', true), job('d (x)'), job('d (y)')];
    expect(onJobTerminal(partial, edges, 't (1)')).toEqual({ release: [], skip: [], cancel: [] });
    const done = [job('t (1)', 'success', true), job('t (2)', 'success', true), job('d (x)'), job('d (y)')];
    expect(onJobTerminal(done, edges, 't (2)')).toEqual({ release: ['d (x)', 'd (y)'], skip: [], cancel: [] });
    const oneFailed = [job('t (1)', 'success', true), job('t (2)', 'failed', true), job('d (x)'), job('d (y)')];
    expect(onJobTerminal(oneFailed, edges, 't (2)')).toEqual({ release: [], skip: ['d (x)', 'd (y)'], cancel: [] });
  });

  it('cancels pending and queued dependents of a run being cancelled instead of skipping them', () => {
    const edges = [edge('b', 'a'), edge('c', 'b'), edge('e', 'a', ALWAYS)];
    const jobs = [job('a', 'cancelled', true), job('b'), job('c'), job('e', 'queued', true)];
    expect(onJobTerminal(jobs, edges, 'a', { runCancelling: true })).toEqual({
      release: [],
      skip: [],
      cancel: ['b', 'c', 'e'],
    });
  });

  it('does nothing for a job that is not terminal, or for already decided dependents', () => {
    const jobs = [job('a', 'running', true), job('b')];
    expect(onJobTerminal(jobs, [edge('b', 'a')], 'a')).toEqual({ release: [], skip: [], cancel: [] });
    const decided = [job('a', 'success', true), job('b', 'queued', true)];
    expect(onJobTerminal(decided, [edge('b', 'a')], 'a')).toEqual({ release: [], skip: [], cancel: [] });
  });

  describe('recompute from scratch (restart)', () => {
    it('releases roots of a fresh run', () => {
      const jobs = [job('a'), job('b'), job('c'), job('d')];
      expect(recomputeNeeds(jobs, diamondEdges)).toEqual({ release: ['a'], skip: [], cancel: [] });
    });

    it('releases satisfied-but-undispatched jobs and what finished upstreams allow', () => {
      const jobs = [job('a', 'success', true), job('b', 'pending', true), job('c'), job('d')];
      expect(recomputeNeeds(jobs, diamondEdges)).toEqual({ release: ['b', 'c'], skip: [], cancel: [] });
    });

    it('catches up on skips that were never written, cascading to a fixpoint', () => {
      // Edges listed so that a single pass in job order would miss the cascade.
      const jobs = [job('d'), job('c'), job('b'), job('a', 'failed', true)];
      expect(recomputeNeeds(jobs, diamondEdges)).toEqual({ release: [], skip: ['d', 'c', 'b'], cancel: [] });
    });

    it('releases an always-dependent once the skip cascade reaches it', () => {
      const edges = [edge('b', 'a'), edge('c', 'b', ALWAYS)];
      const jobs = [job('a', 'failed', true), job('b'), job('c')];
      expect(recomputeNeeds(jobs, edges)).toEqual({ release: ['c'], skip: ['b'], cancel: [] });
    });

    it('cancels everything waiting when the run is cancelling', () => {
      const jobs = [job('a', 'running', true), job('b', 'queued', true), job('c'), job('d', 'success', true)];
      expect(recomputeNeeds(jobs, [], { runCancelling: true })).toEqual({ release: [], skip: [], cancel: ['b', 'c'] });
    });
  });
});
