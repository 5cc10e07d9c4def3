import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Installation, type RunDetail } from './fixture.js';

const LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    {
      name: 'ci',
      // The paths filter would never match a manual run (nothing changed): it is not applied.
      triggers: [{ _type: 'push', branches: ['main'], paths: ['src/**'] }],
      jobs: [
        { name: 'build', steps: [{ name: 'version', run: 'printf "version=7\\nevent=%s\\n" "$KICI_EVENT" >> "$KICI_OUTPUT"' }] },
        {
          name: 'test',
          needs: ['build'],
          // Fails on the first attempt only, so a --failed-only rerun can succeed.
          steps: [{ name: 'check', run: 'printf "seen=%s\\nattempt=%s\\n" "$KICI_NEEDS_BUILD_VERSION" "$KICI_ATTEMPT" >> "$KICI_OUTPUT"; test "$KICI_ATTEMPT" -ge 2' }],
        },
      ],
    },
    { name: 'release', triggers: [{ _type: 'push', branches: ['release/*'] }], jobs: [{ name: 'r', checkout: false, steps: [{ run: 'true' }] }] },
    { name: 'prs', triggers: [{ _type: 'pr', targetBranches: ['main'] }], jobs: [{ name: 'p', checkout: false, steps: [{ run: 'true' }] }] },
  ],
};

interface TriggerReply {
  sha: string;
  branch: string | null;
  runs: { id: string; workflow: string }[];
}

type RerunReply = RunDetail & { parentRunId: string; rerunJobs: string[]; carriedJobs: string[] };

let inst: Installation;
let source: string;
let sha: string;
let firstRun: RunDetail;
let secondRun: RunDetail;

beforeAll(async () => {
  inst = await Installation.start('kici-runs-trigger-');
  sha = inst.repo.pushLockfile(LOCKFILE);
  source = await inst.addSource();
  await inst.startAgent();
});

afterAll(async () => {
  await inst?.stop();
});

const job = (run: RunDetail, name: string) => run.jobs.find((j) => j.name === name)!;

describe('kici-admin runs trigger', () => {
  it('runs the workflows a push of the branch would run, as a manual event', async () => {
    const reply = await inst.adminJson<TriggerReply>(['runs', 'trigger', '--source', source, '--ref', 'main']);
    expect(reply).toMatchObject({ sha, branch: 'main' });
    expect(reply.runs.map((r) => r.workflow)).toEqual(['ci']);
    firstRun = await inst.waitForEnd(reply.runs[0].id);
    expect(firstRun).toMatchObject({ status: 'failed', attempt: 1, branch: 'main', sha });
    expect(job(firstRun, 'build')).toMatchObject({ status: 'success', outputs: { version: '7', event: 'manual' } });
    expect(job(firstRun, 'test').status).toBe('failed');
  });

  it('runs every push-triggered workflow for a bare commit', async () => {
    const r = await inst.admin(['runs', 'trigger', '--source', source, '--ref', sha.slice(0, 12)]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${sha}: 2 run(s)`);
    const reply = await inst.adminJson<TriggerReply>(['runs', 'trigger', '--source', source, '--ref', sha]);
    expect(reply.branch).toBeNull();
    expect(reply.runs.map((x) => x.workflow).sort()).toEqual(['ci', 'release']);
    const release = await inst.waitForEnd(reply.runs.find((x) => x.workflow === 'release')!.id);
    expect(release).toMatchObject({ status: 'success', branch: null });
    await inst.waitForEnd(reply.runs.find((x) => x.workflow === 'ci')!.id);
  });

  it('answers 404 for an unknown branch or source and exits 2 without --ref', async () => {
    const branch = await inst.admin(['runs', 'trigger', '--source', source, '--ref', 'no-such-branch']);
    expect(branch.code).toBe(1);
    expect(branch.err).toContain('404');
    const unknown = await inst.admin(['runs', 'trigger', '--source', 'src_nope', '--ref', 'main']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('404');
    const usage = await inst.admin(['runs', 'trigger', '--source', source]);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('--ref');
  });
});

describe('kici-admin runs rerun', () => {
  it('--failed-only reruns the failed job and carries the successful one with its outputs', async () => {
    const reply = await inst.adminJson<RerunReply>(['runs', 'rerun', firstRun.id, '--failed-only']);
    expect(reply).toMatchObject({ attempt: 2, parentRunId: firstRun.id, rerunJobs: ['test'], carriedJobs: ['build'] });
    expect(reply.id).not.toBe(firstRun.id);
    secondRun = await inst.waitForEnd(reply.id);
    expect(secondRun).toMatchObject({ status: 'success', attempt: 2, workflow: 'ci', sha, branch: 'main' });
    expect(job(secondRun, 'build')).toMatchObject({ status: 'success', outputs: { version: '7', event: 'manual' } });
    expect(job(secondRun, 'test')).toMatchObject({ status: 'success', outputs: { seen: '7', attempt: '2' } });
  });

  it('refuses --failed-only when nothing failed, and a full rerun counts the attempt up again', async () => {
    const refused = await inst.admin(['runs', 'rerun', secondRun.id, '--failed-only']);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('409');
    const r = await inst.admin(['runs', 'rerun', secondRun.id]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/attempt 3 of run/);
    expect(r.out).toContain('rerun: build, test');
    const id = /^run (\S+):/.exec(r.out)![1];
    const third = await inst.waitForEnd(id);
    expect(third.status).toBe('success');
    expect(job(third, 'test').outputs.attempt).toBe('3');
  });

  it('answers 404 for an unknown run', async () => {
    const r = await inst.admin(['runs', 'rerun', '00000000-0000-4000-8000-000000000000']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('404');
  });
});
