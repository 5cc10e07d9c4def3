/**
 * Retention end to end (issue 19): a real orchestrator and agent, a push that ran a job, then
 * `kici-admin runs purge` once the clock has moved past the retention. The orchestrator's clock is
 * injected (the machine's, shifted on demand), so nothing waits for days to pass.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, systemClock } from '../../../src/clock/index.js';
import { signBody } from '../../../src/webhooks/index.js';
import { Installation, type RunDetail } from './fixture.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const LOCKFILE = {
  schemaVersion: 1,
  workflows: [{ name: 'ci', triggers: [{ _type: 'push', branches: ['main'] }], jobs: [{ name: 'build', checkout: false, steps: [{ run: 'echo hello-retention' }] }] }],
};

interface PurgeReply {
  before: string;
  payloads: number;
  logRuns: number;
  logBytes: number;
}

let shiftMs = 0;
/** The machine's time, moved forward by the test (timers stay the machine's). */
const clock: Clock = { now: () => Date.now() + shiftMs, setTimer: (ms, fn) => systemClock.setTimer(ms, fn) };

let inst: Installation;
let deliveryId: string;
let run: RunDetail & { logsRemovedAt?: string | null };

beforeAll(async () => {
  inst = await Installation.start('kici-retention-', {}, { clock });
  const sha = inst.repo.pushLockfile(LOCKFILE);
  const source = await inst.addSource();
  await inst.startAgent();
  const push = JSON.stringify({ ref: 'refs/heads/main', before: '0'.repeat(40), after: sha, repository: { name: 'app' } });
  deliveryId = `${source}:refs/heads/main:${sha}`;
  const res = await fetch(`${inst.orch.url}/webhook/acme/git/${source}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-signature-256': signBody('a-webhook-secret-for-tests', push), 'x-delivery-id': deliveryId },
    body: push,
  });
  expect(res.status).toBe(202);
  let runId: string | undefined;
  for (let i = 0; i < 300 && !runId; i++) {
    const { runs } = await inst.api.call<{ runs: { id: string; deliveryId: string | null }[] }>('GET', '/runs');
    runId = runs.find((r) => r.deliveryId === deliveryId)?.id;
    if (!runId) await new Promise((r) => setTimeout(r, 100));
  }
  expect(runId).toBeDefined();
  run = await inst.waitForEnd(runId!);
  await inst.waitForLog(run.id, 'hello-retention');
}, 60_000);

afterAll(async () => {
  await inst?.stop();
});

describe('kici-admin runs purge', () => {
  it('removes nothing that is not older than asked', async () => {
    const reply = await inst.adminJson<PurgeReply>(['runs', 'purge', '--older-than', '30d']);
    expect(reply).toMatchObject({ payloads: 0, logRuns: 0, logBytes: 0 });
    expect((await inst.admin(['runs', 'logs', run.id])).out).toContain('hello-retention');
  });

  it('refuses a purge without --older-than, or reaching into the last hour', async () => {
    expect((await inst.admin(['runs', 'purge'])).code).toBe(2);
    const short = await inst.admin(['runs', 'purge', '--older-than', '30m']);
    expect(short.code).toBe(2);
    expect(short.err).toContain('at least 1h');
  });

  it('once the clock is past it, removes the webhook body and the step logs, and prints the counts', async () => {
    shiftMs = 100 * DAY_MS;
    const payloadsOnly = await inst.admin(['runs', 'purge', '--older-than', '30d', '--payloads']);
    expect(payloadsOnly.code).toBe(0);
    expect(payloadsOnly.out).toMatch(/webhook payloads: [1-9]/);
    expect(payloadsOnly.out).not.toContain('step logs');
    // The body is gone; the logs are still there.
    expect((await inst.admin(['runs', 'logs', run.id])).out).toContain('hello-retention');

    const both = await inst.admin(['runs', 'purge', '--older-than', '30d']);
    expect(both.code).toBe(0);
    expect(both.out).toContain('webhook payloads: 0');
    expect(both.out).toMatch(/step logs: [1-9]\d* run\(s\), [1-9]\d* bytes/);
    // Idempotent.
    expect(await inst.adminJson<PurgeReply>(['runs', 'purge', '--older-than', '30d'])).toMatchObject({ payloads: 0, logRuns: 0, logBytes: 0 });
  });

  it('says the logs were removed by retention, and when; the run itself stays', async () => {
    const after = await inst.api.call<RunDetail & { logsRemovedAt: string | null }>('GET', `/runs/${run.id}`);
    expect(after).toMatchObject({ id: run.id, status: 'success' });
    expect(after.logsRemovedAt).not.toBeNull();
    const logs = await inst.admin(['runs', 'logs', run.id]);
    expect(logs.code).toBe(1);
    expect(logs.err).toContain(`logs of run ${run.id} removed by retention on ${after.logsRemovedAt!.slice(0, 10)}`);
    expect(logs.err).toContain('HTTP 410');
  });

  it('keeps the event log row and says the payload was removed instead of printing an empty body', async () => {
    const row = await inst.adminJson<Record<string, unknown>>(['event-log', 'show', deliveryId, '--org', 'acme']);
    expect(row).toMatchObject({ id: deliveryId, status: 'processed', matchedCount: 1 });
    expect(row.payloadSize).toBeGreaterThan(0);
    const removedAt = row.payloadRemovedAt as string;
    expect(removedAt).toEqual(expect.any(String));
    const shown = await inst.admin(['event-log', 'show', deliveryId, '--org', 'acme']);
    expect(shown.out).toContain(`payloadRemovedAt  ${removedAt}`);

    const payload = await inst.admin(['event-log', 'show', deliveryId, '--org', 'acme', '--payload']);
    expect(payload.code).toBe(1);
    expect(payload.out).toBe('');
    expect(payload.err).toContain(`payload removed by retention on ${removedAt.slice(0, 10)}`);
  });

  it('audits each purge with what it removed, and counts it in the metrics', async () => {
    const { events } = await inst.api.call<{ events: { actor: string; action: string; details: Record<string, unknown> }[] }>('GET', '/audit?action=retention.purge');
    expect(events.length).toBe(4);
    expect(events.every((e) => e.actor === 'admin')).toBe(true);
    expect(events[2]!.details).toMatchObject({ olderThanSeconds: 30 * 86_400, kinds: ['payloads'] });
    const metrics = await (await fetch(`${inst.orch.url}/metrics`)).text();
    expect(metrics).toMatch(/kici_retention_deleted_total\{kind="delivery_payload"\} [1-9]/);
    expect(metrics).toMatch(/kici_retention_deleted_total\{kind="step_log"\} [1-9]/);
  });
});
