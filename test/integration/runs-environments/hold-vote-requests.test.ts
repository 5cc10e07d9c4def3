/**
 * `POST /api/v1/runs/:id/approve|reject` and `kici-admin runs approve|reject`: the answers that
 * come before any run's actor is asked — a bad body (a field the API does not know, a reason too
 * long) is a 400 naming the field, an unknown run a 404, a finished run a 404 — and the CLI's exit
 * codes for them. A real orchestrator on PGlite; no agent, so the run stays queued.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocalOrchestrator } from '../../../src/admin/index.js';
import { Installation } from '../runs-admin/fixture.js';

let inst: Installation;
let source: string;
let runId: string;

interface Reply {
  status: number;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
}

async function post(path: string, body?: unknown): Promise<Reply> {
  const res = await inst.api.raw('POST', path, body);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

beforeAll(async () => {
  inst = await Installation.start('kici-hold-vote-requests-');
  inst.repo.pushLockfile({
    schemaVersion: 1,
    workflows: [{ name: 'build', triggers: [{ _type: 'push', branches: ['main'] }], jobs: [{ name: 'build', checkout: false, steps: [{ run: 'true' }] }] }],
  });
  source = await inst.addSource();
  runId = await trigger();
});

async function trigger(): Promise<string> {
  const reply = await inst.adminJson<{ runs: { id: string }[] }>(['runs', 'trigger', '--source', source, '--ref', 'main']);
  return reply.runs[0]!.id;
}

afterAll(async () => {
  await inst?.stop();
});

describe('a vote the API refuses before asking the run', () => {
  it('answers 400 for a field it does not know, naming it (a misspelt field is never ignored)', async () => {
    for (const verdict of ['approve', 'reject']) {
      const r = await post(`/runs/${runId}/${verdict}`, { job: 'build', reviewer: 'alice' });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('reviewer') });
    }
  });

  it('answers 400 for a reason over 1000 characters, an empty job name, or a body that is not JSON', async () => {
    const long = await post(`/runs/${runId}/reject`, { reason: 'x'.repeat(1001) });
    expect(long.status).toBe(400);
    expect(long.body.error).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/^reason: /) });
    const emptyJob = await post(`/runs/${runId}/approve`, { job: '' });
    expect(emptyJob).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', message: expect.stringMatching(/^job: /) } } });
    const res = await fetch(`${inst.orch.url}/api/v1/runs/${runId}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${readLocalOrchestrator(inst.dataDir).token}`, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(res.status).toBe(400);
  });

  it('answers 404 for a run it does not know, whether or not the id is a UUID', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'no-such-run']) {
      const r = await post(`/runs/${id}/approve`, {});
      expect(r).toMatchObject({ status: 404, body: { error: { code: 'not_found', message: `no run ${id}` } } });
    }
  });

  it('answers 404 for a finished run: its holds are all closed', async () => {
    const id = await trigger();
    await inst.api.call('POST', `/runs/${id}/cancel`, { force: true });
    const deadline = Date.now() + 15_000;
    let r = await post(`/runs/${id}/approve`);
    // The cancel is graceful by default and the run ends a moment later: ask until it has.
    while (r.body.error?.code !== 'no_pending_hold' && Date.now() < deadline) {
      await new Promise((ok) => setTimeout(ok, 100));
      r = await post(`/runs/${id}/approve`);
    }
    expect(r).toMatchObject({ status: 404, body: { error: { code: 'no_pending_hold', message: `run ${id} already finished cancelled; it has no pending hold` } } });
  });
});

describe('kici-admin runs approve|reject', () => {
  it("exits 1 with the API's message for a bad reason or an unknown run, 2 without a run id", async () => {
    const long = await inst.admin(['runs', 'reject', runId, '--reason', 'x'.repeat(1001)]);
    expect(long.code).toBe(1);
    expect(long.err).toMatch(/^kici-admin: reason: .*\(HTTP 400\)\n$/);
    const unknown = await inst.admin(['runs', 'approve', '00000000-0000-4000-8000-000000000000', '--job', 'deploy']);
    expect(unknown).toMatchObject({ code: 1, err: 'kici-admin: no run 00000000-0000-4000-8000-000000000000 (HTTP 404)\n' });
    expect((await inst.admin(['runs', 'approve'])).code).toBe(2);
  });
});
