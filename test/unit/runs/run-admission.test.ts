import { describe, expect, it } from 'vitest';
import { ActorSystem } from '../../../src/actors/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import {
  groupKey,
  groupOf,
  isTerminalRunStatus,
  registerConcurrencyGroupActor,
  RunAdmission,
  type AdmissionRun,
  type GroupIdentity,
  type RunAdmissionPorts,
} from '../../../src/runs/index.js';

/**
 * The front on one node, with the group actors on the same node's actor system. Runs live in a
 * map that plays the store; `start` marks a pending run running as its RunActor would.
 */
function harness(runs: AdmissionRun[], ports: Partial<RunAdmissionPorts> = {}) {
  const byId = new Map(runs.map((r) => [r.runId, { ...r }]));
  const started: string[] = [];
  const superseded: string[] = [];
  const failures: string[] = [];
  const start = (id: string) => {
    started.push(id);
    const run = byId.get(id);
    if (run?.status === 'pending') run.status = 'running';
  };
  const describeRun = async (id: string) => {
    const run = byId.get(id);
    return run ? { ...run } : null;
  };
  const inGroup = (run: AdmissionRun, group: GroupIdentity) => {
    const own = groupOf(run);
    return own !== null && groupKey(own) === groupKey(group);
  };
  const system = new ActorSystem({ nodeId: 'n1', clock: new ManualClock(1_000) });
  registerConcurrencyGroupActor(system, {
    groupRuns: async (group) => [...byId.values()].filter((r) => !isTerminalRunStatus(r.status) && inGroup(r, group)),
    describe: describeRun,
    start,
    supersede: (id) => superseded.push(id),
  });
  const admission = new RunAdmission(system, {
    describe: describeRun,
    start,
    failed: (runId) => failures.push(runId),
    ...ports,
  });
  return { admission, started, superseded, failures, byId, add: (run: AdmissionRun) => byId.set(run.runId, { ...run }) };
}

const grouped = (runId: string, cancelInProgress: boolean, status: AdmissionRun['status'] = 'pending'): AdmissionRun => ({
  runId,
  status,
  sourceId: 'src_1',
  workflowName: 'deploy',
  concurrency: { group: 'prod', cancelInProgress, max: 1 },
});

const PROD = { sourceId: 'src_1', workflowName: 'deploy' };

describe('RunAdmission', () => {
  it('starts runs without a concurrency block at once', async () => {
    const h = harness([{ runId: 'a', status: 'pending', workflowName: 'ci' }]);
    expect(await h.admission.start('a')).toBeUndefined();
    expect(h.started).toEqual(['a']);
  });

  it('queues in arrival order and starts the next one when a run finishes', async () => {
    const h = harness([]);
    const runs = ['a', 'b', 'c'].map((id) => grouped(id, false));
    // Each run reaches the gate right after it is created, as run creation does it.
    const outcomes = await Promise.all(
      runs.map((run) => {
        h.add(run);
        return h.admission.start(run.runId);
      }),
    );
    expect(outcomes).toEqual(['started', 'waiting', 'waiting']);
    expect(h.started).toEqual(['a']);
    h.byId.get('a')!.status = 'success';
    await h.admission.finished('a');
    expect(h.started).toEqual(['a', 'b']);
    expect(await h.admission.snapshot(PROD, 'prod')).toEqual({ active: ['b'], waiting: ['c'] });
  });

  it('supersedes the older run of the group', async () => {
    const h = harness([grouped('a', true)]);
    await h.admission.start('a');
    h.add(grouped('b', true));
    await h.admission.start('b');
    expect(h.started).toEqual(['a', 'b']);
    expect(h.superseded).toEqual(['a']);
  });

  it('keeps workflows of different sources apart', async () => {
    const other = { ...grouped('b', false), sourceId: 'src_2' };
    const h = harness([grouped('a', false), other]);
    await h.admission.start('a');
    await h.admission.start('b');
    expect(h.started).toEqual(['a', 'b']);
  });

  it('ignores a run that already finished', async () => {
    const h = harness([grouped('a', false, 'cancelled'), { runId: 'free', status: 'success', workflowName: 'ci' }]);
    expect(await h.admission.start('a')).toBe('finished');
    await h.admission.start('free');
    expect(h.started).toEqual([]);
  });

  it('tells nobody when a run outside any group finishes', async () => {
    const h = harness([{ runId: 'x', status: 'success', workflowName: 'ci' }]);
    await h.admission.finished('x');
    expect(h.started).toEqual([]);
    expect(h.failures).toEqual([]);
  });

  it('rebuilds the groups from the unfinished runs after a restart', async () => {
    const runs = [grouped('run1', false, 'running'), grouped('wait1', false), grouped('wait2', false), { runId: 'x', status: 'pending' as const, workflowName: 'ci' }];
    const h = harness(runs);
    await h.admission.restore(runs);
    // the running run resumes, the free-standing one starts, the grouped pending ones wait
    expect(await h.admission.snapshot(PROD, 'prod')).toEqual({ active: ['run1'], waiting: ['wait1', 'wait2'] });
    expect(h.started).toEqual(['run1', 'x']);
    h.byId.get('run1')!.status = 'success';
    await h.admission.finished('run1');
    expect(h.started).toEqual(['run1', 'x', 'wait1']);
  });

  it('lets the newest pending run supersede after a restart', async () => {
    const runs = [grouped('old', true, 'running'), grouped('new', true)];
    const h = harness(runs);
    await h.admission.restore(runs);
    await h.admission.snapshot(PROD, 'prod');
    expect(h.started).toEqual(['old', 'new']);
    expect(h.superseded).toEqual(['old']);
  });

  it('wakes the groups that live here when it takes runs over', async () => {
    const h = harness([grouped('a', false, 'success'), grouped('b', false)], { unfinishedGroups: async () => [{ ...PROD, group: 'prod' }] });
    // `b` waited behind `a`, whose end went unheard; no run of the gained shards is in this group.
    await h.admission.restore([]);
    await h.admission.snapshot(PROD, 'prod');
    expect(h.started).toEqual(['b']);
  });

  it('survives a store that fails once', async () => {
    let failures = 0;
    const h = harness([], {
      describe: async (id) => {
        if (failures++ === 0) throw new Error('db down');
        return { runId: id, status: 'pending', workflowName: 'ci' };
      },
    });
    await h.admission.start('a');
    await h.admission.start('b');
    expect(h.started).toEqual(['b']);
    expect(h.failures).toEqual(['a']);
  });
});

describe('RunAdmission with a hint', () => {
  it('starts a run known to have no concurrency without reading it', async () => {
    const h = harness([], { describe: () => Promise.reject(new Error('not to be read')) });
    await h.admission.start('free', { grouped: false });
    expect(h.started).toEqual(['free']);
    expect(h.failures).toEqual([]);
  });
});
