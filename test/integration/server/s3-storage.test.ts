/**
 * An orchestrator on S3 storage (s3rver): it refuses to start on a bucket that is not there,
 * and otherwise keeps a job's step log and the delivery's payload copy in the bucket, where
 * another reader of the bucket finds them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openS3Storage, readDeliveryCopy, type S3Storage } from '../../../src/store/index.js';
import { startTestS3, type TestS3 } from '../../support/s3-server.js';
import { OrchestratorRig, waitFor, type Frame } from './orchestrator-rig.js';

describe('an orchestrator with KICI_STORAGE_TYPE=s3', () => {
  let s3: TestS3;
  let rig: OrchestratorRig | undefined;
  let reader: S3Storage;
  const bucket = `orchestrator-${randomUUID()}`;
  const env = (b: string) => ({ KICI_STORAGE_TYPE: 's3', KICI_STORAGE_BUCKET: b, KICI_STORAGE_ENDPOINT: s3.endpoint, KICI_STORAGE_FORCE_PATH_STYLE: 'true', KICI_STORAGE_PREFIX: 'kici' });

  beforeAll(async () => {
    s3 = await startTestS3();
    await s3.createBucket(bucket);
    reader = await openS3Storage(s3.settings(bucket, { prefix: 'kici' }));
  });
  afterAll(async () => {
    await rig?.close();
    reader?.close();
    await s3?.close();
  });

  it('does not start on a missing bucket, and says which and why', async () => {
    await expect(OrchestratorRig.start(env('no-such-bucket'))).rejects.toThrow(/S3 blob bucket "no-such-bucket" .* cannot be reached: HeadBucket answered 404 NotFound/);
  });

  it('keeps a job\'s step log and the delivery\'s copy in the bucket', async () => {
    rig = await OrchestratorRig.start(env(bucket));
    const token = await rig.agentToken();
    const source = await rig.gitSource();
    const agent = await rig.connectAgent('s3-agent', token);
    expect((await rig.push(source, 's3-delivery')).status).toBe(202);
    const dispatch = await agent.next('job.dispatch');
    const job = { runId: dispatch.runId as string, jobId: dispatch.jobId as string };
    agent.send({ type: 'job.ack', ...job });
    agent.send(agent.stamped({ type: 'job.status', ...job, state: 'running' }));
    agent.send(agent.stamped({ type: 'log.chunk', ...job, stepIndex: 0, lines: ['compiling on s3'] }));
    agent.send(agent.stamped({ type: 'step.status', ...job, stepIndex: 0, stepName: 'compile', state: 'success', exitCode: 0 }));
    agent.send(agent.stamped({ type: 'job.status', ...job, state: 'success' }));
    await waitFor('the run to succeed', async () => ((await rig!.api('GET', `/runs/${job.runId}`)).status === 'success' ? true : undefined));

    const log = await waitFor('the step log in the bucket', async () => {
      const { text } = await reader.stepLogs.read(job.runId, job.jobId, 0);
      return text.includes('compiling on s3') ? text : undefined;
    });
    expect(log).toContain('compiling on s3');
    const copy = await waitFor('the delivery copy in the bucket', async () => (await readDeliveryCopy(reader.blobs, 'acme', `${source.id}:s3-delivery`)) ?? undefined);
    expect((JSON.parse(copy.toString()) as Frame).after).toBe(source.sha);
    agent.close();
  });
});
