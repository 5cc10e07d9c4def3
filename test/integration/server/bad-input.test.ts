import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '../../../src/webhooks/index.js';
import { OrchestratorRig, waitFor, type Frame } from './orchestrator-rig.js';

/**
 * Bad input over real HTTP: every webhook answer of the check order, a lock file that fails its
 * schema, and a running job whose heartbeats stop. The server keeps serving throughout.
 */
describe('bad input and silent jobs, over real sockets', () => {
  let rig: OrchestratorRig;
  let generic: { id: string; secret: string };

  beforeAll(async () => {
    rig = await OrchestratorRig.start({ KICI_JOB_HEARTBEAT_INTERVAL_MS: '300', KICI_STALE_DETECTOR_SCAN_INTERVAL_MS: '200' });
    const secret = 'generic-secret-for-bad-input-01';
    const created = await rig.api('POST', '/sources', { kind: 'generic', orgId: 'acme', name: 'hooks', verification: 'hmac_sha256', secret, rateLimit: 5 });
    generic = { id: created.id as string, secret };
  });
  afterAll(() => rig?.close());

  const post = (body: string | Buffer, headers: Record<string, string> = {}, sourceId = generic.id) =>
    fetch(`${rig.url}/webhook/acme/generic/${sourceId}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  const signed = (body: string | Buffer, extra: Record<string, string> = {}) => post(body, { 'x-signature-256': signBody(generic.secret, body), ...extra });

  it('answers 413 for a body over the route cap before reading it', async () => {
    const res = await post(Buffer.alloc(26 * 1024 * 1024, 0x20));
    expect(res.status).toBe(413);
    expect(((await res.json()) as Frame).error).toMatchObject({ code: 'payload_too_large' });
  });

  it("answers 413 for a signed body over the generic source's 1 MiB payload limit", async () => {
    const body = JSON.stringify({ pad: 'x'.repeat(1024 * 1024 + 10) });
    const res = await signed(body);
    expect(res.status).toBe(413);
  });

  it('answers 404 for an unknown source and 401 for a wrong signature, naming no secret', async () => {
    expect((await post('{}', {}, 'src_doesnotexist')).status).toBe(404);
    const res = await post('{}', { 'x-signature-256': signBody('not-the-secret', '{}') });
    expect(res.status).toBe(401);
    expect(await res.text()).not.toContain(generic.secret);
  });

  it('answers 400 for a signed body that is not the JSON it claims to be', async () => {
    const res = await signed('{"unterminated": ');
    expect(res.status).toBe(400);
    expect(((await res.json()) as Frame).error).toMatchObject({ code: 'bad_request' });
  });

  it('answers 429 with Retry-After once the source is over its rate, and keeps serving /health', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await signed(JSON.stringify({ n: i }), { 'x-delivery-id': `rate-${i}` })).status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    const limited = await signed('{}', { 'x-delivery-id': 'rate-last' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await fetch(`${rig.url}/health`)).status).toBe(200);
  });

  it('turns a lock file that fails its schema into one failed run naming the field', async () => {
    const broken = { schemaVersion: 1, workflows: [{ name: 'ci', triggers: [{ _type: 'push' }], jobs: [{ name: 'build', steps: [{ name: 'no-command' }] }] }] };
    const source = await rig.gitSource(broken, 'broken');
    expect((await rig.push(source, 'broken-1')).status).toBe(202);
    const run = await waitFor('the failed run', async () => {
      const runs = (await rig.api('GET', '/runs?limit=50')).runs as Frame[];
      return runs.find((r) => r.status === 'failed' && String(r.error).includes('workflows[0].jobs[0].steps[0].run'));
    });
    expect(run.error).toMatch(/required/);
    const again = (await rig.api('GET', '/runs?limit=50')).runs as Frame[];
    expect(again.filter((r) => r.deliveryId === run.deliveryId)).toHaveLength(1);
  });

  it('marks a running job whose heartbeats stop timed_out_stale, and the run completes', async () => {
    const token = await rig.agentToken();
    const agent = await rig.connectAgent('silent-agent', token);
    const origin = await rig.gitSource(undefined, 'stale');
    expect((await rig.push(origin, 'stale-1')).status).toBe(202);
    const dispatch = await agent.next('job.dispatch');
    agent.send({ type: 'job.ack', runId: dispatch.runId, jobId: dispatch.jobId });
    agent.send(agent.stamped({ type: 'job.status', runId: dispatch.runId, jobId: dispatch.jobId, state: 'running' }));
    // ...and then nothing: no job.heartbeat, though the socket stays open.
    const run = await waitFor('the run to finish', async () => {
      const r = await rig.api('GET', `/runs/${dispatch.runId}`);
      return r.status === 'failed' ? r : undefined;
    });
    const jobs = run.jobs as Frame[];
    expect(jobs[0].status).toBe('timed_out_stale');
    agent.close();
  });
});
