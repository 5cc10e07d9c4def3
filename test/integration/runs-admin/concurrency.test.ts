import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Installation } from './fixture.js';

// No agent is connected: started runs stay `running` with their job queued, which is all that
// admission looks at, and keeps the test light.

let inst: Installation;

beforeAll(async () => {
  inst = await Installation.start('kici-runs-concurrency-');
});

afterAll(async () => {
  await inst?.stop();
});

/**
 * One test's own workflow, on its own branch and behind its own source: groups are kept per source
 * and workflow, so no test sees another's runs, whichever runs first or alone.
 */
async function scenario(name: string, concurrency: { group: string; cancelInProgress?: boolean }) {
  const workflow = { name, triggers: [{ _type: 'push', branches: [name] }], concurrency, jobs: [{ name: 'work', steps: [{ run: 'sleep 60' }] }] };
  inst.repo.pushLockfile({ schemaVersion: 1, workflows: [workflow] }, name);
  const source = await inst.addSource(name);
  const started: string[] = [];
  return {
    /** A manual run of the branch; returns its id. */
    async trigger(): Promise<string> {
      const reply = await inst.adminJson<{ runs: { id: string; workflow: string }[] }>(['runs', 'trigger', '--source', source, '--ref', name]);
      expect(reply.runs.map((r) => r.workflow)).toEqual([name]);
      started.push(reply.runs[0].id);
      return reply.runs[0].id;
    },
    /** Leave nothing running behind. */
    async cleanUp(): Promise<void> {
      for (const id of started) if (!['success', 'failed', 'cancelled'].includes(await status(id))) await inst.admin(['runs', 'cancel', id, '--force']);
    },
  };
}

const status = async (id: string) => (await inst.run(id)).status;

describe('workflow concurrency', () => {
  it('cancels the older run of a group when a newer one starts (cancelInProgress)', async () => {
    const deploy = await scenario('deploy', { group: 'production' });
    const first = await deploy.trigger();
    await inst.waitFor(first, (r) => r.status === 'running', 'the first deploy to start');
    const second = await deploy.trigger();
    const old = await inst.waitForEnd(first);
    expect(old).toMatchObject({ status: 'cancelled', error: 'superseded' });
    await inst.waitFor(second, (r) => r.status === 'running', 'the newer deploy to start');
    await deploy.cleanUp();
  });

  it('makes a newer run wait, first come first served, while cancelInProgress is false', async () => {
    const queue = await scenario('fifo', { group: 'one-at-a-time', cancelInProgress: false });
    const first = await queue.trigger();
    await inst.waitFor(first, (r) => r.status === 'running', 'the first queued run to start');
    const second = await queue.trigger();
    const third = await queue.trigger();
    expect(await status(second)).toBe('pending');
    expect(await status(third)).toBe('pending');
    expect((await inst.admin(['runs', 'cancel', first])).code).toBe(0);
    await inst.waitFor(second, (r) => r.status === 'running', 'the second queued run to start');
    expect(await status(third)).toBe('pending');
    await queue.cleanUp();
  });

  it('keeps the places across a restart, from the runs in the store', async () => {
    const queue = await scenario('restart', { group: 'one-at-a-time', cancelInProgress: false });
    const active = await queue.trigger();
    await inst.waitFor(active, (r) => r.status === 'running', 'the first run to start');
    const waiting = await queue.trigger();
    expect(await status(waiting)).toBe('pending');

    await inst.orch.stop();
    await inst.startOrchestrator();
    await inst.waitFor(active, (r) => r.status === 'running', 'the active run to resume');
    // The waiting run is still waiting behind the one that was running before the restart.
    expect(await status(waiting)).toBe('pending');
    expect((await inst.admin(['runs', 'cancel', active])).code).toBe(0);
    await inst.waitFor(waiting, (r) => r.status === 'running', 'the waiting run to start');
    await queue.cleanUp();
  });

  it('cancels a run that is still waiting at once', async () => {
    const queue = await scenario('cancel-waiting', { group: 'one-at-a-time', cancelInProgress: false });
    const active = await queue.trigger();
    await inst.waitFor(active, (r) => r.status === 'running', 'the first run to start');
    const next = await queue.trigger();
    expect(await status(next)).toBe('pending');
    const done = await inst.waitForEnd((await inst.adminJson<{ id: string }>(['runs', 'cancel', next])).id);
    expect(done.status).toBe('cancelled');
    // A run that is still active cannot be rerun.
    const rerun = await inst.admin(['runs', 'rerun', active]);
    expect(rerun.code).toBe(1);
    expect(rerun.err).toContain('409');
    expect((await inst.admin(['runs', 'cancel', active, '--force'])).code).toBe(0);
    expect(await status(active)).toBe('cancelled');
  });
});
