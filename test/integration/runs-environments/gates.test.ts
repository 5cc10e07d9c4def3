/**
 * Environment gates end to end: a real orchestrator on PGlite in this process, a real agent
 * speaking the protocol, runs started from a git source. An environment with concurrency_limit 1
 * runs three deploys one at a time (the steps keep a journal; no two overlap), and an environment
 * restricted to `main` rejects a deploy from another branch with the gate's message.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Installation } from '../runs-admin/fixture.js';

let inst: Installation;

beforeAll(async () => {
  inst = await Installation.start('kici-runs-environments-');
  await inst.startAgent();
});

afterAll(async () => {
  await inst?.stop();
});

async function trigger(source: string, ref: string): Promise<string> {
  const reply = await inst.adminJson<{ runs: { id: string }[] }>(['runs', 'trigger', '--source', source, '--ref', ref]);
  expect(reply.runs).toHaveLength(1);
  return reply.runs[0]!.id;
}

describe('environment gates on runs', () => {
  it('runs the jobs of an environment with concurrency_limit 1 one at a time', async () => {
    await inst.api.call('POST', '/environments', { orgId: 'acme', name: 'production', concurrencyLimit: 1 });
    const journal = path.join(inst.tmp, 'journal');
    const step = `echo "start $KICI_RUN_ID" >> ${journal}; sleep 1; echo "end $KICI_RUN_ID" >> ${journal}`;
    const workflow = {
      name: 'deploy',
      triggers: [{ _type: 'push', branches: ['main'] }],
      jobs: [{ name: 'deploy', checkout: false, environments: ['production'], steps: [{ run: step }] }],
    };
    inst.repo.pushLockfile({ schemaVersion: 1, workflows: [workflow] }, 'main');
    const source = await inst.addSource('deploys');
    const runs = [await trigger(source, 'main'), await trigger(source, 'main'), await trigger(source, 'main')];
    for (const id of runs) expect((await inst.waitForEnd(id)).status).toBe('success');

    const lines = readFileSync(journal, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(6);
    // Never two at once: every start is followed by the end of the same run.
    for (let i = 0; i < lines.length; i += 2) {
      const [what, runId] = lines[i]!.split(' ');
      expect(what).toBe('start');
      expect(lines[i + 1]).toBe(`end ${runId}`);
    }
    expect(new Set(lines.map((l) => l.split(' ')[1]))).toEqual(new Set(runs));
  }, 60_000);

  it('runs a job held by a paused environment (limit 0) once an operator gives it a limit', async () => {
    await inst.api.call('POST', '/environments', { orgId: 'acme', name: 'paused', concurrencyLimit: 0 });
    const workflow = {
      name: 'paused-deploy',
      triggers: [{ _type: 'push', branches: ['pause'] }],
      jobs: [{ name: 'deploy', checkout: false, environments: ['paused'], steps: [{ run: 'true' }] }],
    };
    inst.repo.pushLockfile({ schemaVersion: 1, workflows: [workflow] }, 'pause');
    const source = await inst.addSource('paused');
    const id = await trigger(source, 'pause');
    await inst.waitFor(id, (r) => r.jobs.some((j) => j.waiting?.includes("concurrency group 'paused' (limit 0)")), `the job of run ${id} to wait at its gate`);
    // The group hears of the new limit now (the admin update tells it), not at some later request.
    await inst.api.call('PATCH', '/environments/paused?org=acme', { concurrencyLimit: 1 });
    expect((await inst.waitForEnd(id)).status).toBe('success');
  }, 60_000);

  it('shows why a job waits at a gate (a paused environment: limit 0), and a cancel ends it', async () => {
    await inst.api.call('POST', '/environments', { orgId: 'acme', name: 'frozen', concurrencyLimit: 0 });
    const workflow = {
      name: 'frozen-deploy',
      triggers: [{ _type: 'push', branches: ['freeze'] }],
      jobs: [{ name: 'deploy', checkout: false, environments: ['frozen'], steps: [{ run: 'true' }] }],
    };
    inst.repo.pushLockfile({ schemaVersion: 1, workflows: [workflow] }, 'freeze');
    const source = await inst.addSource('frozen');
    const id = await trigger(source, 'freeze');
    const waiting = await inst.waitFor(id, (r) => r.jobs.some((j) => j.waiting !== undefined), `the job of run ${id} to wait at its gate`);
    expect(waiting.jobs[0]).toMatchObject({ status: 'pending', waiting: "waiting for a slot in concurrency group 'frozen' (limit 0)" });
    const shown = await inst.admin(['runs', 'show', id]);
    expect(shown.out).toContain("waiting: waiting for a slot in concurrency group 'frozen' (limit 0)");
    await inst.api.call('POST', `/runs/${id}/cancel`, { force: false });
    expect((await inst.waitForEnd(id)).status).toBe('cancelled');
  }, 60_000);

  it('rejects a deploy from a branch the environment does not allow, with the gate message', async () => {
    await inst.api.call('POST', '/environments', { orgId: 'acme', name: 'live', branchRestrictions: ['main'] });
    const workflow = {
      name: 'hotfix',
      triggers: [{ _type: 'push', branches: ['dev'] }],
      jobs: [
        { name: 'ship', checkout: false, environments: ['live'], steps: [{ run: 'true' }] },
        { name: 'announce', checkout: false, needs: ['ship'], steps: [{ run: 'true' }] },
      ],
    };
    inst.repo.pushLockfile({ schemaVersion: 1, workflows: [workflow] }, 'dev');
    const source = await inst.addSource('hotfixes');
    const run = await inst.waitForEnd(await trigger(source, 'dev'));
    expect(run.status).toBe('failed');
    const ship = run.jobs.find((j) => j.name === 'ship')!;
    expect(ship).toMatchObject({
      status: 'failed',
      error: "environment protection: branch 'dev' is not allowed in environment 'live' (branch restrictions: main)",
    });
    expect(run.jobs.find((j) => j.name === 'announce')!.status).toBe('skipped');
  }, 60_000);
});
