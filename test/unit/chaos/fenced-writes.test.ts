import { describe, expect, it } from 'vitest';
import { checkFencedWrites } from '../../../chaos/invariants/fenced-writes.js';
import { job, run, shard, T0, view } from './fixtures.js';

const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

describe('invariant 6: a deposed coordinator\'s writes are rejected', () => {
  it('holds when a shard moves forward and only its new owner writes afterwards', () => {
    const before = view({ shards: [shard(7, 1, 'node-a')], runs: [run('run-1', { status: 'running' })], jobs: [job('job-1', 'run-1', { status: 'running' })] });
    const moved = view({ takenAt: later(1), shards: [shard(7, 2, 'node-b')], runs: before.runs, jobs: before.jobs });
    const after = view({
      takenAt: later(2),
      shards: moved.shards,
      runs: [run('run-1', { ownerEpoch: 2, version: 'v2' })],
      jobs: [job('job-1', 'run-1', { ownerEpoch: 2, version: 'v2' })],
    });
    const report = checkFencedWrites([before, moved, after]);
    expect(report).toMatchObject({ invariant: 6, held: true, evidence: [] });
    expect(report.notes.join('\n')).not.toContain('one view only');
    expect(checkFencedWrites([after]).notes.join('\n')).toContain('one view only');
  });

  it('is broken by a write stamped above its shard\'s epoch', () => {
    const report = checkFencedWrites([view({ shards: [shard(7, 2)], runs: [run('run-1', { ownerEpoch: 3 })], jobs: [job('job-1', 'run-1', { ownerEpoch: 2 })] })]);
    expect(report.evidence).toEqual([expect.stringMatching(/run run-1 was written at epoch 3, above shard 7's epoch 2 \(owner node-a\)/)]);
  });

  it('is broken by a run in a shard with no fence row', () => {
    const report = checkFencedWrites([view({ shards: [], runs: [run('run-1')] })]);
    expect(report.evidence).toEqual([expect.stringContaining('run run-1 is in shard 7, which has no fence row')]);
  });

  it('is broken by a job written at an old epoch after its shard moved on', () => {
    const before = view({ shards: [shard(7, 2, 'node-b')], runs: [run('run-1', { ownerEpoch: 2 })], jobs: [job('job-1', 'run-1', { ownerEpoch: 2, name: 'build' })] });
    const after = view({ takenAt: later(1), shards: before.shards, runs: before.runs, jobs: [job('job-1', 'run-1', { ownerEpoch: 1, name: 'build', version: 'stale' })] });
    const report = checkFencedWrites([before, after]);
    expect(report.evidence).toEqual([
      expect.stringMatching(/^job job-1 "build" of run run-1 was written at epoch 1 between view 1\/2 .* and view 2\/2 .*, after shard 7 had reached epoch 2 \(owner node-b\)/),
    ]);
    expect(report.firstViolationAtMs, 'dated at the view that first shows it').toBe(later(1).getTime());
    expect(checkFencedWrites([before, before]).firstViolationAtMs).toBeUndefined();
  });

  it('is broken by a run created at an old epoch', () => {
    const before = view({ shards: [shard(7, 3)] });
    const after = view({ takenAt: later(1), shards: [shard(7, 3)], runs: [run('run-2', { ownerEpoch: 2 })] });
    expect(checkFencedWrites([before, after]).evidence).toEqual([expect.stringContaining('run run-2 was created at epoch 2')]);
  });

  it('is broken by an epoch going back and by two owners of one epoch', () => {
    const a = view({ shards: [shard(7, 3, 'node-a'), shard(8, 1, 'node-a')] });
    const b = view({ takenAt: later(1), shards: [shard(7, 2, 'node-b'), shard(8, 1, 'node-b')] });
    const report = checkFencedWrites([a, b]);
    expect(report.evidence).toEqual([
      expect.stringMatching(/^shard 8 epoch 1 had two owners: node-a \(view 1\/2 .*\) and node-b \(view 2\/2 /),
      expect.stringMatching(/^shard 7's epoch went back from 3 \(node-a\) to 2 \(node-b\) between view 1\/2/),
    ]);
  });
});
