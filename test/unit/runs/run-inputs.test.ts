/**
 * A job's inputs at dispatch: the variables of the environments it names and the secrets its steps
 * name go with every dispatch, read afresh each time; a job whose inputs cannot be read fails with
 * the reason and is never sent without its secrets.
 */
import { describe, expect, it } from 'vitest';
import { JobInputsUnavailable, RUN_ACTOR_KIND, type JobInputRequest, type JobInputSource, type RunMessage } from '../../../src/runs/index.js';
import { flush, harness } from './gated-runs.js';

/** An input source that answers from a table, or fails, and says what it was asked. */
class TableInputs implements JobInputSource {
  readonly asked: JobInputRequest[] = [];
  failure: Error | null = null;
  constructor(private readonly values: { env: Record<string, string>; secrets: Record<string, string> }) {}

  async resolve(request: JobInputRequest) {
    this.asked.push(request);
    if (this.failure) throw this.failure;
    const secrets = Object.fromEntries(request.secretNames.map((n) => [n, this.values.secrets[n]!]));
    return { env: this.values.env, secrets };
  }
}

function withSecrets(h: ReturnType<typeof harness>, runId: string, secrets: string[][], environments = ['production']) {
  const deploy = h.addRun({ runId, environments, withDependent: true });
  const config = h.job(runId, deploy).config as { steps: { run: string; secrets?: string[] }[] };
  config.steps = secrets.map((names, i) => ({ run: `step ${i}`, secrets: names }));
  return deploy;
}

describe('RunActor: a job\u2019s variables and secrets', () => {
  it('sends the environments\u2019 variables and the secrets its steps name with the dispatch', async () => {
    const inputs = new TableInputs({ env: { API_URL: 'https://api' }, secrets: { DEPLOY_KEY: 'k-123', TOKEN: 't-456' } });
    const h = harness({ inputs });
    const production = await h.env({ name: 'production' });
    const deploy = withSecrets(h, 'r1', [['DEPLOY_KEY'], ['TOKEN', 'DEPLOY_KEY']]);
    h.store.run('r1').run.sourceId = 'src-1';
    await h.send('r1', { type: 'start' });
    expect(inputs.asked).toEqual([{ orgId: 'acme', sourceId: 'src-1', environmentIds: [production.id], secretNames: ['DEPLOY_KEY', 'TOKEN'] }]);
    const [sent] = h.dispatcher.dispatches;
    expect(sent).toMatchObject({ jobId: deploy, env: { API_URL: 'https://api' }, secrets: { DEPLOY_KEY: 'k-123', TOKEN: 't-456' } });
  });

  it('reads them again for every dispatch: an agent that rejects the job gets no stale copy', async () => {
    const inputs = new TableInputs({ env: {}, secrets: { DEPLOY_KEY: 'old' } });
    const h = harness({ inputs });
    await h.env({ name: 'production' });
    const deploy = withSecrets(h, 'r1', [['DEPLOY_KEY']]);
    await h.send('r1', { type: 'start' });
    (inputs as unknown as { values: { secrets: Record<string, string> } }).values.secrets.DEPLOY_KEY = 'rotated';
    await h.send('r1', { type: 'job_rejected', jobId: deploy, reason: 'busy', agentId: 'agent-1' });
    expect(h.dispatcher.dispatches.map((d) => d.secrets?.DEPLOY_KEY)).toEqual(['old', 'rotated']);
    expect(inputs.asked).toHaveLength(2);
  });

  it('fails the job, with the reason and without sending it, when its secrets cannot be read', async () => {
    const inputs = new TableInputs({ env: {}, secrets: {} });
    inputs.failure = new JobInputsUnavailable('the backend vault-prod did not answer');
    const h = harness({ inputs });
    await h.env({ name: 'production' });
    const deploy = withSecrets(h, 'r1', [['DEPLOY_KEY']]);
    await h.send('r1', { type: 'start' });
    expect(h.job('r1', deploy)).toMatchObject({
      status: 'failed',
      error: "the job's variables and secrets could not be resolved: the backend vault-prod did not answer",
    });
    expect(h.job('r1', 'r1-after').status).toBe('skipped');
    expect(h.dispatcher.dispatches).toEqual([]);
    expect(h.failures).toEqual([]);
  });

  it('an error of the node itself (its database went away) fails nothing: the run\u2019s actor tries again', async () => {
    const inputs = new TableInputs({ env: {}, secrets: { DEPLOY_KEY: 'k' } });
    inputs.failure = new Error('Connection terminated unexpectedly');
    const h = harness({ inputs });
    await h.env({ name: 'production' });
    const deploy = withSecrets(h, 'r1', [['DEPLOY_KEY']]);
    h.system().ref<RunMessage>(RUN_ACTOR_KIND, 'r1').tell({ type: 'start' });
    await flush();
    expect(h.failures.map((f) => (f.error as Error).message)).toEqual(['Connection terminated unexpectedly']);
    expect(h.job('r1', deploy).status).not.toBe('failed');
    expect(h.dispatcher.dispatches).toEqual([]);
    inputs.failure = null;
    // The actor is restarted after its supervisor's backoff, on the injected clock.
    h.clock.advance(60_000);
    await flush();
    await h.send('r1', { type: 'resume' });
    expect(h.dispatcher.dispatches.map((d) => d.secrets)).toEqual([{ DEPLOY_KEY: 'k' }]);
  });

  it('a node without an input source fails a job that names secrets, and sends one that names none without variables', async () => {
    const h = harness();
    await h.env({ name: 'production' });
    const secretive = withSecrets(h, 'r1', [['DEPLOY_KEY']]);
    await h.send('r1', { type: 'start' });
    expect(h.job('r1', secretive)).toMatchObject({ status: 'failed', error: "the job's variables and secrets could not be resolved: this node keeps no secrets" });

    const plain = h.addRun({ runId: 'r2', environments: ['production'] });
    await h.send('r2', { type: 'start' });
    expect(h.dispatcher.dispatches.map((d) => [d.jobId, d.env, d.secrets])).toEqual([[plain, undefined, undefined]]);
  });
});
