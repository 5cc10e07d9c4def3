import { describe, expect, it } from 'vitest';
import { RunAdmission, type AdmissionRun } from '../../../src/runs/index.js';

function harness(runs: AdmissionRun[]) {
  const byId = new Map(runs.map((r) => [r.runId, r]));
  const started: string[] = [];
  const superseded: string[] = [];
  const admission = new RunAdmission({
    describe: async (id) => byId.get(id) ?? null,
    start: (id) => started.push(id),
    supersede: (id) => superseded.push(id),
  });
  return { admission, started, superseded, byId };
}

const grouped = (runId: string, cancelInProgress: boolean, status: AdmissionRun['status'] = 'pending'): AdmissionRun => ({
  runId,
  status,
  sourceId: 'src_1',
  workflowName: 'deploy',
  concurrency: { group: 'prod', cancelInProgress, max: 1 },
});

describe('RunAdmission', () => {
  it('starts runs without a concurrency block at once', async () => {
    const h = harness([{ runId: 'a', status: 'pending', workflowName: 'ci' }]);
    await h.admission.start('a');
    expect(h.started).toEqual(['a']);
  });

  it('queues in arrival order and starts the next one when a run finishes', async () => {
    const h = harness([grouped('a', false), grouped('b', false), grouped('c', false)]);
    await Promise.all([h.admission.start('a'), h.admission.start('b'), h.admission.start('c')]);
    expect(h.started).toEqual(['a']);
    await h.admission.finished('a');
    expect(h.started).toEqual(['a', 'b']);
    expect(h.admission.snapshot({ sourceId: 'src_1', workflowName: 'deploy' }, 'prod')).toEqual({ active: ['b'], waiting: ['c'] });
  });

  it('supersedes the older run of the group', async () => {
    const h = harness([grouped('a', true), grouped('b', true)]);
    await h.admission.start('a');
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
    const h = harness([grouped('a', false, 'cancelled')]);
    await h.admission.start('a');
    expect(h.started).toEqual([]);
  });

  it('rebuilds the groups from the unfinished runs after a restart', async () => {
    const h = harness([]);
    await h.admission.restore([grouped('run1', false, 'running'), grouped('wait1', false), grouped('wait2', false), { runId: 'x', status: 'pending', workflowName: 'ci' }]);
    // the running run resumes, the free-standing one starts, the grouped pending ones wait
    expect(h.started).toEqual(['run1', 'x']);
    await h.admission.finished('run1');
    expect(h.started).toEqual(['run1', 'x', 'wait1']);
  });

  it('lets the newest pending run supersede after a restart', async () => {
    const h = harness([]);
    await h.admission.restore([grouped('old', true, 'running'), grouped('new', true)]);
    expect(h.started).toEqual(['old', 'new']);
    expect(h.superseded).toEqual(['old']);
  });

  it('survives a store that fails once', async () => {
    let failures = 0;
    const started: string[] = [];
    const admission = new RunAdmission({
      describe: async (id) => {
        if (failures++ === 0) throw new Error('db down');
        return { runId: id, status: 'pending', workflowName: 'ci' };
      },
      start: (id) => started.push(id),
      supersede: () => undefined,
      failed: () => undefined,
    });
    await admission.start('a');
    await admission.start('b');
    expect(started).toEqual(['b']);
  });
});

describe('RunAdmission with a hint', () => {
  it('starts a run known to have no concurrency without reading it', async () => {
    const h = harness([]);
    await h.admission.start('free', { grouped: false });
    expect(h.started).toEqual(['free']);
  });
});
