/**
 * What MemoryRunStore keeps beyond the RunStore port (whose contract test/contract/ holds it to):
 * shard rows raised as ShardRepository.raise does, fenced run creation, the queries the cluster
 * simulator's nodes and sweeps make, and the report of every accepted write with its writer.
 */
import { describe, expect, it } from 'vitest';
import { MemoryRunStore, type AcceptedWrite } from '../../../src/runs/index.js';
import { planRun } from './run-fixtures.js';

describe('MemoryRunStore beyond the port', () => {
  it('raises shards only forward, and answers the shards the node may act on', () => {
    const store = new MemoryRunStore({ shards: [] });
    expect(store.raise('n1', [{ shard: 1, epoch: 1 }, { shard: 2, epoch: 1 }])).toEqual([1, 2]);
    // Raised further by n2: n1 may no longer act on shard 2; its row is not taken back.
    expect(store.raise('n2', [{ shard: 2, epoch: 2 }])).toEqual([2]);
    expect(store.raise('n1', [{ shard: 1, epoch: 1 }, { shard: 2, epoch: 1 }])).toEqual([1]);
    expect(store.shardRows()).toEqual([
      { shard: 1, node: 'n1', epoch: 1 },
      { shard: 2, node: 'n2', epoch: 2 },
    ]);
  });

  it('creates a run only at the epoch of its shard\'s row, once', () => {
    const store = new MemoryRunStore({ shards: [[5, 3]] });
    const run = planRun('r1', [{ id: 'j1' }]);
    expect(store.create(run, 5, 2)).toBe(false);
    expect(store.runs.has('r1')).toBe(false);
    expect(store.create(run, 5, 3)).toBe(true);
    expect(store.create(run, 5, 1)).toBe(true);
    expect(store.unfinishedRuns([5]).map((r) => r.id)).toEqual(['r1']);
    expect(store.unfinishedRuns([4])).toEqual([]);
  });

  it('reports every accepted write with its writer, and none that was refused', async () => {
    const writes: AcceptedWrite[] = [];
    const store = new MemoryRunStore({ shards: [[0, 1]], onWrite: (w) => writes.push(w) });
    store.create(planRun('r1', [{ id: 'j1' }]), 0, 1, 'n1');
    const n2 = store.as('n2');
    expect(await n2.markRunStarted('r1', 10, { epoch: 1 })).toBe(true);
    expect(await n2.updateJob('j1', { status: 'queued', agentId: 'a1' }, { epoch: 1, expectStatus: 'pending' })).toBe(true);
    expect(await n2.updateJob('j1', { status: 'running' }, { epoch: 2 })).toBe(false);
    expect(writes.map((w) => `${w.kind}@${w.epoch} by ${w.node}`)).toEqual(['run_created@1 by n1', 'run_started@1 by n2', 'job@1 by n2']);
    expect(store.jobsHeldBy('a1')).toEqual([{ runId: 'r1', jobId: 'j1' }]);
  });

  it('answers the coordinator\'s sweeps: stale running jobs, overdue recoveries and acks', async () => {
    const store = new MemoryRunStore();
    const run = planRun('r1', [{ id: 'stale' }, { id: 'fresh' }, { id: 'lost' }, { id: 'silent' }]);
    Object.assign(run.jobs[0], { status: 'running', lastHeartbeatAt: 100 });
    Object.assign(run.jobs[1], { status: 'running', lastHeartbeatAt: 900 });
    Object.assign(run.jobs[2], { status: 'recovering', recoveryDeadline: 500 });
    Object.assign(run.jobs[3], { status: 'queued', agentId: 'a1', ackDeadline: 400, dispatchAttempts: 2 });
    store.add(run);
    expect(await store.staleRunning(500, 0)).toEqual([{ runId: 'r1', jobId: 'stale' }]);
    expect(await store.overdueRecoveries(600)).toEqual([{ runId: 'r1', jobId: 'lost' }]);
    expect(await store.overdueAcks(600)).toEqual([{ runId: 'r1', jobId: 'silent', dispatchAttempts: 2 }]);
  });

  it('with the fence broken, takes a write at any epoch (for checker tests only)', async () => {
    const store = new MemoryRunStore({ shards: [[0, 5]], fence: 'broken' });
    store.add(planRun('r1', [{ id: 'j1' }]));
    expect(await store.markRunStarted('r1', 1, { epoch: 1 })).toBe(true);
  });
});
