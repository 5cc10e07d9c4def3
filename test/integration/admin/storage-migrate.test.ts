/**
 * `kici-admin storage migrate`: an orchestrator on the filesystem copies its delivery copies and
 * step logs into a bucket (s3rver), prints the counts, skips everything on a second run, and
 * refuses to copy onto the storage it already uses.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openS3Storage, readDeliveryCopy, type S3Storage } from '../../../src/store/index.js';
import { startTestS3, type TestS3 } from '../../support/s3-server.js';
import { OrchestratorRig, waitFor } from '../server/orchestrator-rig.js';
import { kiciAdmin } from './admin-cli-run.js';

describe('kici-admin storage migrate', () => {
  let s3: TestS3;
  let rig: OrchestratorRig;
  let bucket: S3Storage;
  const name = `migrate-${randomUUID()}`;
  let job: { runId: string; jobId: string };
  let deliveryId: string;

  const admin = (argv: string[]) => kiciAdmin(['--url', rig.url, '--token', rig.adminToken, ...argv]);
  const toS3 = () => ['storage', 'migrate', '--to', 's3', '--bucket', name, '--endpoint', s3.endpoint, '--force-path-style', '--prefix', 'moved'];

  beforeAll(async () => {
    s3 = await startTestS3();
    await s3.createBucket(name);
    bucket = await openS3Storage(s3.settings(name, { prefix: 'moved' }));
    rig = await OrchestratorRig.start();
    const source = await rig.gitSource();
    const agent = await rig.connectAgent('migrate-agent', await rig.agentToken());
    expect((await rig.push(source, 'migrate-delivery')).status).toBe(202);
    deliveryId = `${source.id}:migrate-delivery`;
    const dispatch = await agent.next('job.dispatch');
    job = { runId: dispatch.runId as string, jobId: dispatch.jobId as string };
    agent.send({ type: 'job.ack', ...job });
    agent.send(agent.stamped({ type: 'job.status', ...job, state: 'running' }));
    agent.send(agent.stamped({ type: 'log.chunk', ...job, stepIndex: 0, lines: ['built before the move'] }));
    agent.send(agent.stamped({ type: 'step.status', ...job, stepIndex: 0, stepName: 'compile', state: 'success', exitCode: 0 }));
    agent.send(agent.stamped({ type: 'job.status', ...job, state: 'success' }));
    await waitFor('the run to succeed', async () => ((await rig.api('GET', `/runs/${job.runId}`)).status === 'success' ? true : undefined));
    agent.close();
  });
  afterAll(async () => {
    await rig?.close();
    bucket?.close();
    await s3?.close();
  });

  it('copies blobs and step logs into the bucket and prints the counts', async () => {
    const r = await admin(toS3());
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/^copied from filesystem to s3:\n {2}blobs: 1 copied \(\d+ bytes\), 0 already there\n {2}step logs: 1 copied \(\d+ bytes\), 0 already there\n$/);
    expect((await bucket.stepLogs.read(job.runId, job.jobId, 0)).text).toContain('built before the move');
    expect(JSON.parse((await readDeliveryCopy(bucket.blobs, 'acme', deliveryId))!.toString())).toMatchObject({ ref: 'refs/heads/main' });
  });

  it('skips what is already there when run again', async () => {
    const r = await admin([...toS3(), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      from: 'filesystem',
      to: 's3',
      counts: { blobs: { copied: 0, skipped: 1, bytes: 0 }, stepLogs: { copied: 0, skipped: 1, differs: 0, bytes: 0 } },
    });
  });

  it('refuses to copy onto the storage in use, and a bucket that is not there', async () => {
    expect(await admin(['storage', 'migrate', '--to', 'filesystem'])).toMatchObject({ code: 1, err: expect.stringContaining('already keeps its objects in filesystem') });
    const missing = await admin(['storage', 'migrate', '--to', 's3', '--bucket', 'no-such-bucket', '--endpoint', s3.endpoint, '--force-path-style']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/S3 blob bucket "no-such-bucket" .*404 NotFound/);
    expect((await admin(['storage', 'migrate', '--to', 's3'])).err).toContain('--to s3 needs --bucket');
  });
});
