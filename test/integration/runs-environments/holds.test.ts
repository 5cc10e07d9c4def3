/**
 * Holds end to end: a real orchestrator on PGlite in this process, a real agent, runs started from
 * a git source. An environment `production` requires alice and bob: its job is held (a pending
 * `held_runs` row, the job `pending` with the reason); carol is not a reviewer (409), alice's vote
 * counts and waits for bob, a second vote is refused, bob's approval (through the CLI) runs the
 * job. In a second run bob rejects with a reason: the job is cancelled naming him and it. A third
 * run is cancelled while held: its hold closes as `cancelled`. Votes on a run without a pending
 * hold are 404s, and every vote is in the audit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminApi } from '../../../src/admin/index.js';
import type { HoldView } from '../../e2e/harness/views.js';
import { Installation, type RunDetail } from '../runs-admin/fixture.js';

type HeldRun = RunDetail & { holds: HoldView[] };

let inst: Installation;
let source: string;
/** Each reviewer's admin token, by name. */
const tokens: Record<string, string> = {};

const LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    {
      name: 'release',
      triggers: [{ _type: 'push', branches: ['main'] }],
      jobs: [{ name: 'deploy', checkout: false, environments: ['production'], steps: [{ run: 'echo deployed' }] }],
    },
    {
      name: 'stage',
      triggers: [{ _type: 'push', branches: ['stage'] }],
      jobs: [{ name: 'stage', checkout: false, environments: ['staging'], steps: [{ run: 'echo staged' }] }],
    },
    {
      name: 'guard',
      triggers: [{ _type: 'push', branches: ['guard'] }],
      jobs: [{ name: 'guard', checkout: false, environments: ['guarded'], steps: [{ run: 'echo guarded' }] }],
    },
    {
      name: 'build',
      triggers: [{ _type: 'push', branches: ['plain'] }],
      jobs: [{ name: 'build', checkout: false, steps: [{ run: 'sleep 5' }] }],
    },
  ],
};

beforeAll(async () => {
  inst = await Installation.start('kici-runs-holds-');
  for (const name of ['alice', 'bob', 'carol']) {
    tokens[name] = (await inst.adminJson<{ token: string }>(['admin-token', 'create', '--name', name])).token;
  }
  await inst.api.call('POST', '/environments', { orgId: 'acme', name: 'production', requiredReviewers: ['alice', 'bob'] });
  await inst.api.call('POST', '/environments', { orgId: 'acme', name: 'staging', requiredReviewers: ['alice'], holdExpirySeconds: 1 });
  await inst.api.call('POST', '/environments', { orgId: 'acme', name: 'guarded', requiredReviewers: ['alice'] });
  inst.repo.pushLockfile(LOCKFILE, 'main');
  inst.repo.pushLockfile(LOCKFILE, 'plain');
  inst.repo.pushLockfile(LOCKFILE, 'stage');
  inst.repo.pushLockfile(LOCKFILE, 'guard');
  source = await inst.addSource('releases');
  await inst.startAgent();
});

afterAll(async () => {
  await inst?.stop();
});

/** The admin API as one reviewer: the token's name is the vote's. */
const as = (name: string) => new AdminApi(inst.orch.url, tokens[name]!);

async function vote(name: string, runId: string, verdict: 'approve' | 'reject', body: Record<string, unknown> = {}) {
  const res = await as(name).raw('POST', `/runs/${runId}/${verdict}`, body);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function trigger(ref: string): Promise<string> {
  const reply = await inst.adminJson<{ runs: { id: string }[] }>(['runs', 'trigger', '--source', source, '--ref', ref]);
  expect(reply.runs).toHaveLength(1);
  return reply.runs[0]!.id;
}

const heldRun = (id: string) => inst.api.call<HeldRun>('GET', `/runs/${id}`);

/** Trigger a release and wait until its deploy is held for review. */
async function heldRelease(): Promise<HeldRun> {
  const id = await trigger('main');
  await inst.waitFor(id, (r) => (r as HeldRun).holds?.[0]?.status === 'pending', `the deploy of run ${id} to be held`);
  return heldRun(id);
}

describe('a job held for required reviewers', () => {
  it('waits for every listed reviewer, refuses others and second votes, and runs once all approved', async () => {
    const held = await heldRelease();
    const deploy = held.jobs.find((j) => j.name === 'deploy')!;
    expect(deploy.status).toBe('pending');
    expect(deploy.waiting).toMatch(/review/);
    expect(held.holds).toEqual([
      expect.objectContaining({ job: 'deploy', gate: 'reviewers', status: 'pending', reviewers: ['alice', 'bob'], remaining: ['alice', 'bob'], votes: [], decidedAt: null, decidedBy: null }),
    ]);
    // The default expiry, 3600 s; `created_at` is the database's clock, the expiry the run's, so a few ms apart.
    expect(Math.abs(Date.parse(held.holds[0]!.expiresAt) - Date.parse(held.holds[0]!.createdAt) - 3600_000)).toBeLessThan(5_000);
    const shown = await inst.admin(['runs', 'show', held.id]);
    expect(shown.out).toMatch(/^ {2}hold \(reviewers\): pending; awaiting alice, bob; expires \S+$/m);

    // carol is not listed: refused, and nothing changes.
    const carol = await vote('carol', held.id, 'approve');
    expect(carol).toMatchObject({ status: 409, body: { error: { code: 'hold_conflict', message: expect.stringContaining('carol') } } });
    expect((await heldRun(held.id)).holds[0]).toMatchObject({ status: 'pending', votes: [], remaining: ['alice', 'bob'] });

    const alice = await vote('alice', held.id, 'approve', { reason: 'looks good' });
    expect(alice).toEqual({ status: 200, body: { runId: held.id, verdict: 'approve', holds: [{ job: 'deploy', gate: 'reviewers', status: 'pending', remaining: ['bob'] }] } });
    expect(await vote('alice', held.id, 'approve')).toMatchObject({ status: 409, body: { error: { code: 'hold_conflict', message: expect.stringContaining('alice') } } });
    const counted = await heldRun(held.id);
    expect(counted.jobs.find((j) => j.name === 'deploy')!.status).toBe('pending');
    expect(counted.holds[0]).toMatchObject({ status: 'pending', remaining: ['bob'], votes: [{ reviewer: 'alice', verdict: 'approve', reason: 'looks good' }] });
    expect((await inst.admin(['runs', 'show', held.id])).out).toMatch(/^ {2}hold \(reviewers\): pending; approved by alice; awaiting bob; expires \S+$/m);

    // bob, through the CLI: the last approval runs the job.
    const bob = await inst.admin(['--token', tokens.bob!, 'runs', 'approve', held.id, '--job', 'deploy']);
    expect(bob, bob.err).toMatchObject({ code: 0, out: 'approved: deploy (reviewers) — approved\n' });
    const done = (await inst.waitForEnd(held.id)) as HeldRun;
    expect(done.status).toBe('success');
    expect(done.holds[0]).toMatchObject({ status: 'approved', decidedBy: 'bob', decidedAt: expect.any(String), remaining: [] });
    expect(done.holds[0]!.votes.map((v) => [v.reviewer, v.verdict])).toEqual([['alice', 'approve'], ['bob', 'approve']]);

    // Finished: no pending hold to vote on.
    expect(await vote('bob', held.id, 'reject')).toMatchObject({ status: 404, body: { error: { code: 'no_pending_hold' } } });
  }, 90_000);

  it('cancels the job when one reviewer rejects, naming them and their reason', async () => {
    const held = await heldRelease();
    const rejected = await vote('bob', held.id, 'reject', { reason: 'freeze until Monday' });
    expect(rejected).toEqual({ status: 200, body: { runId: held.id, verdict: 'reject', holds: [{ job: 'deploy', gate: 'reviewers', status: 'rejected', remaining: expect.any(Array) }] } });
    const done = (await inst.waitForEnd(held.id)) as HeldRun;
    expect(done.status).toBe('cancelled');
    const deploy = done.jobs.find((j) => j.name === 'deploy')!;
    expect(deploy.status).toBe('cancelled');
    expect(deploy.error).toContain('bob');
    expect(deploy.error).toContain('freeze until Monday');
    expect(done.holds[0]).toMatchObject({ status: 'rejected', decidedBy: 'bob', votes: [{ reviewer: 'bob', verdict: 'reject', reason: 'freeze until Monday' }] });
    // alice comes too late: the hold is closed, the run finished.
    const late = await inst.admin(['--token', tokens.alice!, 'runs', 'approve', held.id]);
    expect(late.code).toBe(1);
    expect(late.err).toMatch(/\(HTTP 404\)\n$/);
  }, 90_000);

  it('closes the hold as cancelled when its run is cancelled', async () => {
    const held = await heldRelease();
    await inst.api.call('POST', `/runs/${held.id}/cancel`, { force: false });
    const done = (await inst.waitForEnd(held.id)) as HeldRun;
    expect(done.status).toBe('cancelled');
    expect(done.holds[0]).toMatchObject({ status: 'cancelled', decidedAt: expect.any(String), decidedBy: null, votes: [], remaining: [] });
  }, 60_000);

  it('expires a hold nobody decided: the coordinator duty cancels the job, and a late vote is refused', async () => {
    const id = await trigger('stage');
    // The duty scans every 10 s: the hold expires within that of its 1 s expiry.
    const done = (await inst.waitFor(id, (r) => r.status === 'cancelled', `run ${id} to end with its hold expired`, 30_000)) as HeldRun;
    expect(done.jobs[0]).toMatchObject({ status: 'cancelled', error: 'cancelled: the hold for review expired after 1 s without a decision' });
    expect(done.holds[0]).toMatchObject({ status: 'expired', decidedBy: null, votes: [] });
    expect(await vote('alice', id, 'approve')).toMatchObject({ status: 404, body: { error: { code: 'no_pending_hold' } } });
    const metrics = await (await fetch(`${inst.orch.url}/metrics`)).text();
    expect(metrics).toMatch(/^kici_environment_holds_expired_total\{gate="reviewers"\} 1$/m);
  }, 60_000);

  it('refuses to delete an environment a job is held in, and deletes it once the hold is closed', async () => {
    const id = await trigger('guard');
    await inst.waitFor(id, (r) => (r as HeldRun).holds?.[0]?.status === 'pending', `the job of run ${id} to be held`);
    const refused = await inst.admin(['env', 'delete', 'guarded', '--org', 'acme', '--yes']);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/environment guarded has 1 pending held run; approve or reject them/);
    await inst.api.call('POST', `/runs/${id}/cancel`, { force: false });
    expect((await inst.waitForEnd(id)).status).toBe('cancelled');
    expect((await inst.admin(['env', 'delete', 'guarded', '--org', 'acme', '--yes'])).code).toBe(0);
  }, 60_000);

  it('answers 404 for a run that holds nothing', async () => {
    const id = await trigger('plain');
    await inst.waitFor(id, (r) => r.jobs.some((j) => j.status === 'running'), `the build of run ${id} to start`);
    const r = await vote('alice', id, 'approve');
    expect(r).toMatchObject({ status: 404, body: { error: { code: 'no_pending_hold' } } });
    expect((await heldRun(id)).holds).toEqual([]);
    expect((await inst.waitForEnd(id)).status).toBe('success');
  }, 60_000);

  it('writes every counted vote to the audit, with the reviewer as its actor', async () => {
    const approvals = await inst.adminJson<{ actor: string; actorTokenId: string | null; action: string }[]>(['audit', '--action', 'held_run.approve']);
    expect(approvals.map((e) => e.actor).sort()).toEqual(['alice', 'bob']);
    // The token that voted, not only its name (a name may be taken again after a revoke).
    expect(approvals.every((e) => typeof e.actorTokenId === 'string' && e.actorTokenId.length > 0)).toBe(true);
    const rejections = await inst.adminJson<{ actor: string; action: string }[]>(['audit', '--action', 'held_run.reject']);
    expect(rejections.map((e) => e.actor)).toEqual(['bob']);
    const table = await inst.admin(['audit']);
    expect(table.out).toMatch(/held_run\.approve/);
    expect(table.out).toMatch(/held_run\.reject/);
  });

  it('reports pending holds per environment and rejections by gate on /metrics', async () => {
    const held = await heldRelease();
    const metrics = await (await fetch(`${inst.orch.url}/metrics`)).text();
    expect(metrics).toMatch(/^kici_environment_holds_pending\{org="acme",environment="production"\} 1$/m);
    // bob's rejection in the second test.
    expect(metrics).toMatch(/^kici_environment_gate_rejections_total\{gate="reviewers"\} 1$/m);
    expect(metrics).toMatch(/^kici_environment_holds_expired_total\{gate="trust"\} 0$/m);
    await inst.api.call('POST', `/runs/${held.id}/cancel`, { force: false });
    await inst.waitForEnd(held.id);
    const after = await (await fetch(`${inst.orch.url}/metrics`)).text();
    expect(after).not.toMatch(/^kici_environment_holds_pending\{org="acme",environment="production"\}/m);
  }, 60_000);
});
