import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Installation } from './fixture.js';

// No agent is connected: started runs stay `running` with their job queued, which is all that
// admission looks at, and keeps the test light.
const LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    {
      name: 'deploy',
      triggers: [{ _type: 'push', branches: ['main'] }],
      concurrency: { group: 'production' },
      jobs: [{ name: 'ship', steps: [{ run: 'sleep 60' }] }],
    },
    {
      name: 'queue',
      triggers: [{ _type: 'push', branches: ['main'] }],
      concurrency: { group: 'one-at-a-time', cancelInProgress: false },
      jobs: [{ name: 'wait', steps: [{ run: 'sleep 60' }] }],
    },
  ],
};

let inst: Installation;
let source: string;

beforeAll(async () => {
  inst = await Installation.start('kici-runs-concurrency-');
  inst.repo.pushLockfile(LOCKFILE);
  source = await inst.addSource();
});

afterAll(async () => {
  await inst?.stop();
});

/** Trigger main; returns the run id of each workflow. */
async function trigger(): Promise<Record<string, string>> {
  const reply = await inst.adminJson<{ runs: { id: string; workflow: string }[] }>(['runs', 'trigger', '--source', source, '--ref', 'main']);
  return Object.fromEntries(reply.runs.map((r) => [r.workflow, r.id]));
}

const status = async (id: string) => (await inst.run(id)).status;

describe('workflow concurrency', () => {
  const deploys: string[] = [];
  const queued: string[] = [];

  it('cancels the older run of a group when a newer one starts (cancelInProgress)', async () => {
    const first = await trigger();
    deploys.push(first.deploy);
    queued.push(first.queue);
    await inst.waitFor(first.deploy, (r) => r.status === 'running', 'the first deploy to start');
    const second = await trigger();
    deploys.push(second.deploy);
    queued.push(second.queue);
    const old = await inst.waitForEnd(first.deploy);
    expect(old).toMatchObject({ status: 'cancelled', error: 'superseded' });
    await inst.waitFor(second.deploy, (r) => r.status === 'running', 'the newer deploy to start');
  });

  it('makes a newer run wait, first come first served, while cancelInProgress is false', async () => {
    await inst.waitFor(queued[0], (r) => r.status === 'running', 'the first queued run to start');
    queued.push((await trigger()).queue);
    expect(await status(queued[1])).toBe('pending');
    expect(await status(queued[2])).toBe('pending');
    expect((await inst.admin(['runs', 'cancel', queued[0]])).code).toBe(0);
    await inst.waitFor(queued[1], (r) => r.status === 'running', 'the second queued run to start');
    expect(await status(queued[2])).toBe('pending');
  });

  it('keeps the places across a restart, from the runs in the store', async () => {
    await inst.orch.stop();
    await inst.startOrchestrator();
    await inst.waitFor(queued[1], (r) => r.status === 'running', 'the active run to resume');
    // The waiting run is still waiting behind the one that was running before the restart.
    expect(await status(queued[2])).toBe('pending');
    expect((await inst.admin(['runs', 'cancel', queued[1]])).code).toBe(0);
    await inst.waitFor(queued[2], (r) => r.status === 'running', 'the last queued run to start');
  });

  it('cancels a run that is still waiting at once', async () => {
    const next = (await trigger()).queue;
    expect(await status(next)).toBe('pending');
    const done = await inst.waitForEnd((await inst.adminJson<{ id: string }>(['runs', 'cancel', next])).id);
    expect(done.status).toBe('cancelled');
    const rerun = await inst.admin(['runs', 'rerun', queued[2]]);
    expect(rerun.code).toBe(1);
    expect(rerun.err).toContain('409');
    // Leave nothing running behind.
    for (const id of [queued[2], deploys.at(-1)!]) await inst.admin(['runs', 'cancel', id, '--force']);
    expect(await status(queued[2])).toBe('cancelled');
  });
});
