import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Installation, type RunDetail } from './fixture.js';

const LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    {
      name: 'polite',
      triggers: [{ _type: 'push', branches: ['polite'] }],
      jobs: [
        {
          name: 'sleeper',
          checkout: false,
          gracePeriod: 5,
          // Leaves cleanly on SIGTERM, which proves the cancel was graceful.
          steps: [{ name: 'wait', run: 'trap "echo got-term; exit 0" TERM; echo started; sleep 60 & wait' }],
        },
        { name: 'after', needs: ['sleeper'], checkout: false, steps: [{ run: 'echo never' }] },
      ],
    },
    {
      name: 'stubborn',
      triggers: [{ _type: 'push', branches: ['stubborn'] }],
      // SIGTERM is ignored by the step and its sleep, so only SIGKILL ends it.
      jobs: [{ name: 'deaf', checkout: false, gracePeriod: 1, steps: [{ name: 'wait', run: "trap '' TERM; echo started; sleep 60" }] }],
    },
    {
      name: 'forced',
      triggers: [{ _type: 'push', branches: ['forced'] }],
      jobs: [{ name: 'deaf', checkout: false, gracePeriod: 30, steps: [{ name: 'wait', run: "trap '' TERM; echo started; sleep 60" }] }],
    },
  ],
};

let inst: Installation;
let source: string;

beforeAll(async () => {
  inst = await Installation.start('kici-runs-cancel-');
  for (const branch of ['polite', 'stubborn', 'forced']) inst.repo.pushLockfile(LOCKFILE, branch);
  source = await inst.addSource();
  await inst.startAgent();
});

afterAll(async () => {
  await inst?.stop();
});

/**
 * Trigger the branch's workflow and wait until its first step has printed `started`: its trap is
 * set by then (a step reported running may not have reached its `trap` yet, and a SIGTERM before
 * it would end the shell without the trap's word).
 */
async function runningRun(branch: string): Promise<RunDetail> {
  const reply = await inst.adminJson<{ runs: { id: string }[] }>(['runs', 'trigger', '--source', source, '--ref', branch]);
  const id = reply.runs[0].id;
  const run = await inst.waitFor(id, (r) => r.jobs.some((j) => j.steps[0]?.status === 'running'), 'the first step to run');
  await inst.waitForLog(id, 'started');
  return run;
}

async function logText(runId: string): Promise<string> {
  const res = await inst.api.raw('GET', `/runs/${runId}/logs`);
  return res.text();
}

describe('kici-admin runs cancel', () => {
  it('cancels gracefully: the step gets SIGTERM, dependents end cancelled', async () => {
    const run = await runningRun('polite');
    const r = await inst.admin(['runs', 'cancel', run.id]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`run ${run.id}: cancelling`);
    const done = await inst.waitForEnd(run.id);
    expect(done.status).toBe('cancelled');
    expect(done.error).toBe('cancelled by an operator');
    expect(Object.fromEntries(done.jobs.map((j) => [j.name, j.status]))).toEqual({ sleeper: 'cancelled', after: 'cancelled' });
    expect(await logText(run.id)).toContain('got-term');
  });

  it("kills a step that ignores SIGTERM once the job's grace period is over", async () => {
    const run = await runningRun('stubborn');
    expect((await inst.admin(['runs', 'cancel', run.id])).code).toBe(0);
    const done = await inst.waitForEnd(run.id);
    expect(done.status).toBe('cancelled');
    expect(done.jobs[0].status).toBe('cancelled');
  });

  it('--force kills at once, without waiting out a long grace period', async () => {
    const run = await runningRun('forced');
    const reply = await inst.adminJson<{ status: string; force: boolean }>(['runs', 'cancel', run.id, '--force']);
    expect(reply.force).toBe(true);
    // A 30 s grace period would outlast this wait: only the forced kill ends the run in time.
    const done = await inst.waitFor(run.id, (r) => r.status === 'cancelled', 'the forced cancel', 15_000);
    expect(done.error).toBe('cancelled by an operator (forced)');
    expect(done.jobs[0].status).toBe('cancelled');
  });

  it('answers 409 for a finished run and 404 for an unknown one', async () => {
    const list = await inst.api.call<{ runs: { id: string; status: string }[] }>('GET', '/runs?status=cancelled');
    const finished = await inst.admin(['runs', 'cancel', list.runs[0].id]);
    expect(finished.code).toBe(1);
    expect(finished.err).toContain('409');
    const unknown = await inst.admin(['runs', 'cancel', '00000000-0000-4000-8000-000000000000']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('404');
    const res = await inst.api.raw('POST', `/runs/${list.runs[0].id}/cancel`, { force: 'yes' });
    expect(res.status).toBe(400);
  });
});
