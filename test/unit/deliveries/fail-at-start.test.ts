import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { createFailedRun, type RunOrigin } from '../../../src/deliveries/index.js';
import type { NewRun } from '../../../src/store/index.js';

/** A run store that keeps what it was asked to create; one fixed id so assertions can name it. */
function sink() {
  const created: NewRun[] = [];
  const deps = {
    store: { runs: { create: async (run: NewRun) => (created.push(run), { runId: run.id }) } } as never,
    clock: new ManualClock(42_000),
    ids: { newId: () => 'run-failed-1' },
    epochOf: () => 1,
  };
  return { created, deps };
}

const origin: RunOrigin = { orgId: 'org', sourceId: 'src', deliveryId: 'd1', repoUrl: 'file:///r', sha: 'abc', event: { type: 'push', sha: 'abc' } };

describe('createFailedRun (the one creator of runs that fail at start)', () => {
  it('creates a run that is already failed, with the error naming the field', async () => {
    const { created, deps } = sink();
    const reason = 'workflows[0].jobs[2].environments: environments are not supported yet';
    const runId = await createFailedRun(deps, origin, 'ci', reason);
    expect(runId).toBe('run-failed-1');
    expect(created[0]).toMatchObject({
      orgId: 'org',
      workflowName: 'ci',
      status: 'failed',
      error: reason,
      startedAt: new Date(42_000),
      finishedAt: new Date(42_000),
      sha: 'abc',
      jobs: [],
    });
  });

  it('never stores an empty or unbounded error', async () => {
    const { created, deps } = sink();
    await createFailedRun(deps, origin, 'w', '   ');
    await createFailedRun(deps, origin, 'w', 'x'.repeat(10_000));
    expect(created[0]!.error).toBe('the run could not start');
    expect(created[1]!.error!.length).toBe(2_000);
    expect(created[1]!.error!.endsWith('…')).toBe(true);
  });
});
