/**
 * A job's secret from HashiCorp Vault end to end: a real orchestrator on PGlite, a real agent, a
 * git source, and the Vault stand-in. A backend registered with `kici-admin backend add` while the
 * orchestrator runs and bound with `env bind … --backend my-vault` gives the step its secret, read
 * at dispatch and masked in the stored log; a Vault that is sealed or not listening at dispatch
 * fails the job with a reason naming the backend, and the step never runs; a backend unbound and
 * removed is gone at the next dispatch, without a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultStandIn } from '../../support/vault-standin.js';
import { Installation } from '../runs-admin/fixture.js';

const SECRET = 'kici-vault-e2e-Secret-4b8d2e';

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
              run: ['echo "key=$DEPLOY_KEY"', 'echo "length=${#DEPLOY_KEY}"', 'printf "%s" "$DEPLOY_KEY" | base64'].join('\n'),
            },
          ],
        },
      ],
    },
  ],
};

let inst: Installation;
let vault: VaultStandIn;
let source: string;

beforeAll(async () => {
  vault = await VaultStandIn.start();
  vault.put('kici/secrets/acme/deploy/prod', { DEPLOY_KEY: SECRET });
  inst = await Installation.start('kici-runs-vault-');
  await inst.api.call('POST', '/environments', { orgId: 'acme', name: 'production' });
  inst.repo.pushLockfile(LOCKFILE, 'main');
  source = await inst.addSource('deploys');
  // Added while the orchestrator runs: it takes effect at the next dispatch.
  const added = await inst.admin(['backend', 'add', 'my-vault', '--type', 'vault', '--vault-url', vault.url, '--vault-auth-method', 'token', '--vault-token', vault.token, '--vault-mount-path', 'secret', '--vault-base-path', 'kici/secrets']);
  if (added.code !== 0) throw new Error(added.err);
  const bound = await inst.admin(['env', 'bind', 'production', 'deploy/**', '--backend', 'my-vault', '--org', 'acme']);
  if (bound.code !== 0) throw new Error(bound.err);
  await inst.startAgent();
});

afterAll(async () => {
  await inst?.stop();
  await vault?.close();
});

async function trigger(): Promise<string> {
  const reply = await inst.adminJson<{ runs: { id: string }[] }>(['runs', 'trigger', '--source', source, '--ref', 'main']);
  return reply.runs[0]!.id;
}

describe('a secret from Vault', () => {
  it('reaches the step that names it, read at dispatch and masked in its log', async () => {
    const id = await trigger();
    expect((await inst.waitForEnd(id)).status).toBe('success');
    // Log lines are paced behind the job's status: wait for the last one before reading them all.
    await inst.waitForLog(id, `length=${SECRET.length}`);
    const log = await (await inst.api.raw('GET', `/runs/${id}/logs`)).text();
    expect(log).toContain('key=***');
    expect(log).toContain(`length=${SECRET.length}`);
    expect(log).not.toContain(SECRET);
    expect(log).not.toContain(Buffer.from(SECRET).toString('base64').slice(0, 12));
    const read = vault.requests.filter((r) => r.path === '/v1/secret/data/kici/secrets/acme/deploy/prod');
    expect(read.length).toBeGreaterThan(0);
    expect(read.every((r) => r.withToken)).toBe(true);
  }, 60_000);

  it('a rotated value reaches the next dispatch (never cached)', async () => {
    vault.put('kici/secrets/acme/deploy/prod', { DEPLOY_KEY: `${SECRET}-rotated` });
    const id = await trigger();
    expect((await inst.waitForEnd(id)).status).toBe('success');
    await inst.waitForLog(id, `length=${SECRET.length + '-rotated'.length}`);
    const log = await (await inst.api.raw('GET', `/runs/${id}/logs`)).text();
    expect(log).toContain('key=***');
    expect(log).toContain(`length=${SECRET.length + '-rotated'.length}`);
    expect(log).not.toContain('rotated');
  }, 60_000);

  it('a sealed Vault at dispatch fails the job naming the backend; the step never runs', async () => {
    vault.failWith(503);
    try {
      const id = await trigger();
      const run = await inst.waitForEnd(id);
      expect(run.status).toBe('failed');
      const error = run.jobs[0]!.error!;
      expect(error).toMatch(/^the job's variables and secrets could not be resolved: secret backend unavailable, so secrets DEPLOY_KEY cannot be resolved: my-vault: Vault backend my-vault \(http:\/\/127\.0\.0\.1:\d+\): .*HTTP 503 \(Vault is sealed\)/);
      expect(error).not.toContain(vault.token);
      expect(run.jobs[0]!.steps.every((s) => s.status === 'skipped')).toBe(true);
    } finally {
      vault.failWith(null);
    }
  }, 60_000);

  it('a Vault not listening at dispatch fails the job naming the backend', async () => {
    await vault.stop();
    try {
      const id = await trigger();
      const run = await inst.waitForEnd(id);
      expect(run.status).toBe('failed');
      expect(run.jobs[0]!.error).toMatch(/my-vault: Vault backend my-vault .*connection refused \(ECONNREFUSED\)/);
      expect(run.jobs[0]!.steps.every((s) => s.status === 'skipped')).toBe(true);
    } finally {
      await vault.restart();
    }
  }, 60_000);

  it('a backend unbound and removed is gone at the next dispatch', async () => {
    expect((await inst.admin(['env', 'unbind', 'production', 'deploy/**', '--backend', 'my-vault', '--org', 'acme'])).code).toBe(0);
    expect((await inst.admin(['backend', 'remove', 'my-vault'])).code).toBe(0);
    const before = vault.requests.length;
    const id = await trigger();
    const run = await inst.waitForEnd(id);
    expect(run.status).toBe('failed');
    expect(run.jobs[0]!.error).toMatch(/secrets not found in any bound scope: DEPLOY_KEY/);
    expect(vault.requests.length).toBe(before);
  }, 60_000);
});
