import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Installation, type GitSource } from '../harness/index.js';

/**
 * DESIGN §5b: a step sees the host allowlist, its job/step env and KICI_* run metadata, and nothing
 * else from the agent's own environment: not the agent token, the admin token or a database URL.
 */
const DATABASE_URL = 'postgres://kici:db-password-e2e-7f3a@127.0.0.1:5999/kici';
const AGENT_SIDE_SECRET = 'agent-host-secret-e2e-91c2';

let inst: Installation;
let source: GitSource;
let agentToken: string;

beforeAll(async () => {
  inst = await Installation.create();
  agentToken = await inst.orchestrator.createAgentToken('env-agent');
  await inst.startAgent({
    token: agentToken,
    extraEnv: {
      // Things an operator may well have in the agent's environment; none may reach a step.
      KICI_ADMIN_TOKEN: inst.orchestrator.adminToken,
      KICI_DATABASE_URL: DATABASE_URL,
      DEPLOY_PASSWORD: AGENT_SIDE_SECRET,
    },
  });
  source = await inst.gitSource();
});

afterAll(async () => {
  await inst?.close();
});

describe('the environment a step runs in', () => {
  it('holds run metadata and none of the agent’s, orchestrator’s or admin’s secrets', async () => {
    const sha = source.repo.commitLockfile({
      schemaVersion: 1,
      workflows: [
        {
          name: 'env',
          triggers: [{ _type: 'push', branches: ['main'] }],
          jobs: [{ name: 'dump', env: { FROM_JOB: 'job-value' }, steps: [{ name: 'env', run: 'env | sort' }] }],
        },
      ],
    });
    source.repo.push('main');
    const run = await inst.waitForTerminal((await inst.runForPush(source, sha)).id);
    expect(run.status).toBe('success');
    const job = run.jobs[0];
    const text = (await inst.logsContaining(run.id, ['KICI_RUN_ID='])).map((l) => l.text).join('\n');

    expect(text).toContain(`KICI_RUN_ID=${run.id}`);
    expect(text).toContain(`KICI_JOB_ID=${job.id}`);
    expect(text).toContain('KICI_JOB_NAME=dump');
    expect(text).toContain('KICI_WORKFLOW=env');
    expect(text).toContain(`KICI_SHA=${sha}`);
    expect(text).toContain('KICI_BRANCH=main');
    expect(text).toContain('KICI_REF=refs/heads/main');
    expect(text).toContain('FROM_JOB=job-value');
    expect(text).toMatch(/^PATH=/m);

    expect(text).not.toContain(agentToken);
    expect(text).not.toContain(inst.orchestrator.adminToken);
    expect(text).not.toContain(DATABASE_URL);
    expect(text).not.toContain('db-password-e2e-7f3a');
    expect(text).not.toContain(AGENT_SIDE_SECRET);
    expect(text).not.toMatch(/^KICI_AGENT_TOKEN=/m);
    expect(text).not.toMatch(/^KICI_ADMIN_TOKEN=/m);
    expect(text).not.toMatch(/^KICI_DATABASE_URL=/m);
  });
});
