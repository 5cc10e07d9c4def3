/**
 * A job's variables and secrets end to end: a real orchestrator on PGlite, a real agent, a git
 * source. The step sees its environment's variables (a source override applied, a locked key kept),
 * the secret it names and no other step does; the secret, its base64 and the secret split across
 * two writes are masked in the stored log; a secret nobody bound fails the job with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Installation } from '../runs-admin/fixture.js';

const SECRET = 'kici-e2e-Secret-7f3a9c';

const LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    {
      name: 'deploy',
      triggers: [{ _type: 'push', branches: ['main'] }],
      jobs: [
        {
          name: 'deploy',
          checkout: false,
          environments: ['production'],
          steps: [
            {
              name: 'uses-secret',
              secrets: ['DEPLOY_KEY'],
              run: [
                'echo "api=$API_URL region=$REGION"',
                'echo "key=$DEPLOY_KEY"',
                'printf "%s" "$DEPLOY_KEY" | base64',
                'printf "split=%s" "${DEPLOY_KEY:0:9}"; sleep 0.2; printf "%s\\n" "${DEPLOY_KEY:9}"',
              ].join('\n'),
            },
            { name: 'names-none', run: 'echo "other=${DEPLOY_KEY:-unset}"' },
          ],
        },
      ],
    },
    {
      name: 'missing',
      triggers: [{ _type: 'push', branches: ['missing'] }],
      jobs: [{ name: 'deploy', checkout: false, environments: ['production'], steps: [{ run: 'echo "$NOPE"', secrets: ['NOPE'] }] }],
    },
  ],
};

let inst: Installation;
let source: string;

beforeAll(async () => {
  inst = await Installation.start('kici-runs-inputs-');
  await inst.api.call('POST', '/environments', { orgId: 'acme', name: 'production' });
  inst.repo.pushLockfile(LOCKFILE, 'main');
  inst.repo.pushLockfile(LOCKFILE, 'missing');
  source = await inst.addSource('deploys');
  const env = '/environments/production';
  await inst.api.call('PUT', `${env}/variables/API_URL?org=acme`, { value: 'https://api.example' });
  await inst.api.call('PUT', `${env}/variables/REGION?org=acme`, { value: 'eu', locked: true });
  await inst.api.call('PUT', `${env}/overrides/deploys/API_URL?org=acme`, { value: 'https://override.example' });
  await inst.api.call('PUT', `${env}/overrides/deploys/REGION?org=acme`, { value: 'us' });
  await inst.api.call('PUT', `/secrets/${encodeURIComponent('deploy/prod')}/DEPLOY_KEY?org=acme`, { value: SECRET });
  await inst.api.call('POST', `${env}/bindings?org=acme`, { scope: 'deploy/**' });
  await inst.startAgent();
});

afterAll(async () => {
  await inst?.stop();
});

async function trigger(ref: string): Promise<string> {
  const reply = await inst.adminJson<{ runs: { id: string }[] }>(['runs', 'trigger', '--source', source, '--ref', ref]);
  return reply.runs[0]!.id;
}

describe('a job\u2019s variables and secrets', () => {
  it('reach the step that names them, masked in its log, and no other step', async () => {
    const id = await trigger('main');
    expect((await inst.waitForEnd(id)).status).toBe('success');
    // Log lines are paced behind the job's status: wait for the last one before reading them all.
    await inst.waitForLog(id, 'other=unset');
    const log = await (await inst.api.raw('GET', `/runs/${id}/logs`)).text();
    expect(log).toContain('api=https://override.example region=eu');
    expect(log).toContain('key=***');
    expect(log).toContain('split=***');
    expect(log).toContain('other=unset');
    expect(log).not.toContain(SECRET);
    expect(log).not.toContain(Buffer.from(SECRET).toString('base64').slice(0, 12));
    expect(log).not.toContain(SECRET.slice(9));
  }, 60_000);

  it('fails a job whose secret no bound scope holds, naming it, and never runs the step', async () => {
    const id = await trigger('missing');
    const run = await inst.waitForEnd(id);
    expect(run.status).toBe('failed');
    expect(run.jobs[0]!.error).toMatch(/^the job's variables and secrets could not be resolved: .*NOPE/);
    expect(run.jobs[0]!.error).not.toContain(SECRET);
    expect(run.jobs[0]!.steps.every((s) => s.status === 'skipped')).toBe(true);
  }, 60_000);
});
