/** The checker fails on each kind of broken history it is fed (so a clean batch means something). */
import { describe, expect, it } from 'vitest';
import { ClusterChecker } from '../../../src/simulation/index.js';

const kinds = (c: ClusterChecker) => c.violations.map((v) => `${v.invariant}:${v.kind}`);

function withMap(): ClusterChecker {
  const c = new ClusterChecker(() => 0);
  c.mapApplied('n1', new Map([[7, { node: 'n1', epoch: 1 }]]));
  c.mapApplied('n2', new Map([[7, { node: 'n2', epoch: 2 }]]));
  return c;
}

describe('ClusterChecker', () => {
  it('accepts a clean history: the owner raises, writes at its epoch, one leader per term', () => {
    const c = withMap();
    c.leader(1, 'n1');
    c.leader(1, 'n1');
    c.leader(2, 'n2');
    c.storeWrite({ kind: 'shard_raised', shard: 7, epoch: 1, node: 'n1' });
    c.storeWrite({ kind: 'run_created', shard: 7, epoch: 1, node: 'n3', runId: 'r' });
    c.storeWrite({ kind: 'job', shard: 7, epoch: 1, node: 'n1', runId: 'r', jobId: 'j' });
    c.storeWrite({ kind: 'shard_raised', shard: 7, epoch: 2, node: 'n2' });
    c.storeWrite({ kind: 'run_completed', shard: 7, epoch: 2, node: 'n2', runId: 'r' });
    c.executionStarted('a1', { jobId: 'j', attempt: 1, epoch: 1 });
    c.executionEnded('a1', 'j');
    c.executionStarted('a2', { jobId: 'j', attempt: 2, epoch: 2 });
    expect(c.violations).toEqual([]);
  });

  it('reports two leaders in one term (6)', () => {
    const c = new ClusterChecker(() => 0);
    c.leader(3, 'n1');
    c.leader(3, 'n2');
    expect(kinds(c)).toEqual(['6:two-leaders']);
  });

  it('reports a map that names two owners for one shard at one epoch (6)', () => {
    const c = withMap();
    c.mapApplied('n3', new Map([[7, { node: 'n3', epoch: 2 }]]));
    expect(kinds(c)).toEqual(['6:map-disagrees']);
  });

  it('reports a write by a node the map does not give the shard at that epoch (6)', () => {
    const c = withMap();
    c.storeWrite({ kind: 'step', shard: 7, epoch: 2, node: 'n1', runId: 'r', jobId: 'j' });
    expect(kinds(c)).toEqual(['6:write-by-non-owner']);
  });

  it('reports a write below the shard\'s row, even from the owner of that old epoch (6)', () => {
    const c = withMap();
    c.storeWrite({ kind: 'shard_raised', shard: 7, epoch: 2, node: 'n2' });
    c.storeWrite({ kind: 'job', shard: 7, epoch: 1, node: 'n1', runId: 'r', jobId: 'j' });
    expect(kinds(c)).toEqual(['6:write-below-row']);
  });

  it('reports a raise by another node than the map\'s owner, and writes at epochs the map never gave (6)', () => {
    const c = withMap();
    c.storeWrite({ kind: 'shard_raised', shard: 7, epoch: 2, node: 'n1' });
    c.storeWrite({ kind: 'run_created', shard: 7, epoch: 9, node: 'n1', runId: 'r' });
    expect(kinds(c)).toEqual(['6:raise-by-non-owner', '6:write-unmapped']);
  });

  it('reports a job on two agents at once, and one attempt started twice (3)', () => {
    const c = new ClusterChecker(() => 0);
    c.executionStarted('a1', { jobId: 'j', attempt: 1, epoch: 1 });
    c.executionStarted('a2', { jobId: 'j', attempt: 1, epoch: 2 });
    expect(kinds(c)).toEqual(['3:stale-epoch-dispatch', '3:stale-epoch-dispatch']);
    const same = new ClusterChecker(() => 0);
    same.executionStarted('a1', { jobId: 'j', attempt: 1, epoch: 1 });
    same.executionEnded('a1', 'j');
    same.executionStarted('a1', { jobId: 'j', attempt: 1, epoch: 1 });
    expect(kinds(same)).toEqual(['3:same-epoch']);
  });

  it('reports a concurrency group with more runs admitted than its max (4), counting cancelling runs and not pending ones', () => {
    const c = new ClusterChecker(() => 0);
    const deploy = { key: '[null,"ci","deploy"]', max: 1 };
    const e2e = { key: '[null,"ci","e2e"]', max: 2 };
    // A clean history: runs wait pending, take the place in turn; ungrouped runs count for nothing.
    c.runStatus('r1', 'pending', deploy);
    c.runStatus('r2', 'pending', deploy);
    c.runStatus('r1', 'running', deploy);
    c.runStatus('r1', 'success', deploy);
    c.runStatus('r2', 'running', deploy);
    c.runStatus('e1', 'running', e2e);
    c.runStatus('e2', 'running', e2e);
    c.runStatus('x1', 'running', null);
    c.runStatus('x2', 'running', null);
    expect(c.violations).toEqual([]);
    // r2 is being cancelled, so it still holds the place: r3 starting breaks the max.
    c.runStatus('r2', 'cancelling', deploy);
    c.runStatus('r3', 'running', deploy);
    c.runStatus('e3', 'running', e2e);
    expect(kinds(c)).toEqual(['4:group-over-max', '4:group-over-max']);
    expect(c.violations[0].text).toContain('r2 cancelling, r3 running');
    expect(c.peakAdmitted).toBe(3);
  });

  it('reports runs not terminal after healing (2), telling a run never started apart', () => {
    const c = new ClusterChecker(() => 0);
    c.unfinished([
      { text: 'r1 pending', neverStarted: true },
      { text: 'r2 running', neverStarted: false },
    ]);
    expect(kinds(c)).toEqual(['2:never-started', '2:not-terminal']);
  });

  it('reports an acknowledged final status that a safety net overrode (R); notes a late one and another execution\'s word', () => {
    const c = new ClusterChecker(() => 0);
    const records: Record<string, { agentId: string; status: string; error?: string }> = {
      lost: { agentId: 'a1', status: 'timed_out_stale' },
      late: { agentId: 'a1', status: 'timed_out_stale' },
      other: { agentId: 'a1', status: 'failed' },
      moved: { agentId: 'a9', status: 'failed' },
    };
    c.reportsKept(
      [
        { agentId: 'a1', jobId: 'lost', state: 'success', openAtAck: true },
        { agentId: 'a1', jobId: 'late', state: 'success', openAtAck: false },
        { agentId: 'a1', jobId: 'other', state: 'success', openAtAck: true },
        { agentId: 'a1', jobId: 'moved', state: 'success', openAtAck: true },
      ],
      (jobId) => records[jobId],
    );
    expect(kinds(c)).toEqual(['R:lost-final-status']);
    expect(c.notes.map((n) => n.kind)).toEqual(['late-final-status', 'report-of-other-execution']);
  });
});
