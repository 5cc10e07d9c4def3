/**
 * `kici-admin env create|list|get|update|delete` against a real orchestrator, found through its
 * data directory as on the same machine: every protection flag reaches the API, `--json` prints
 * the API's objects, usage mistakes exit 2 and refusals exit 1 with the API's message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setPendingHolds } from '../../contract/environment-store.database.js';
import { startTestOrchestrator, type TestOrchestrator } from '../admin-surface/cli.js';

let t: TestOrchestrator;

beforeAll(async () => {
  t = await startTestOrchestrator('kici-env-cli-');
});

afterAll(async () => {
  await t?.stop();
});

describe('env create', () => {
  it('takes a flag for every protection rule', async () => {
    const env = await t.adminJson([
      'env', 'create', 'production', '--org', 'acme',
      '--branch', 'main', '--branch', 'release/*',
      '--trigger-type', 'push',
      '--repo', 'acme/*',
      '--minimum-trust', 'trusted',
      '--reviewer', 'alice', '--reviewer', 'bob',
      '--wait-timer', '300',
      '--concurrency-limit', '1', '--concurrency-strategy', 'queue',
      '--hold-expiry', '86400',
    ]);
    expect(env).toMatchObject({
      orgId: 'acme',
      name: 'production',
      type: 'fixed',
      enabled: true,
      branchRestrictions: ['main', 'release/*'],
      triggerTypeFilters: ['push'],
      repoPatterns: ['acme/*'],
      minimumTrust: 'trusted',
      requiredReviewers: ['alice', 'bob'],
      waitTimerSeconds: 300,
      concurrencyLimit: 1,
      concurrencyStrategy: 'queue',
      holdExpirySeconds: 86400,
    });
    expect(env.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('makes glob and disabled environments, and defaults the rest', async () => {
    const env = await t.adminJson(['env', 'create', 'reviews', '--org', 'acme', '--glob', 'review/*', '--disabled']);
    expect(env).toMatchObject({ name: 'reviews', type: 'glob', globPattern: 'review/*', enabled: false, branchRestrictions: [], holdExpirySeconds: 3600, concurrencyLimit: null });
  });

  it('prints the record for a person without --json', async () => {
    const r = await t.admin(['env', 'create', 'staging', '--org', 'acme', '--reviewer', 'carol', '--concurrency-limit', '2', '--concurrency-strategy', 'cancel-pending']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^name\s+staging$/m);
    expect(r.out).toMatch(/^requiredReviewers\s+carol$/m);
    expect(r.out).toMatch(/^branchRestrictions\s+any$/m);
    expect(r.out).toMatch(/^concurrencyLimit\s+2 \(cancel-pending\)$/m);
    expect(r.out).toMatch(/^waitTimerSeconds\s+none$/m);
  });

  it('exits 1 with the API\'s message for a taken name', async () => {
    const r = await t.admin(['env', 'create', 'production', '--org', 'acme']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('kici-admin: an environment named production already exists in acme (HTTP 409)\n');
  });

  it.each([
    [['env', 'create', 'x']],
    [['env', 'create', 'x', '--org', 'acme', '--wait-timer', '-5']],
    [['env', 'create', 'x', '--org', 'acme', '--wait-timer', 'soon']],
    [['env', 'create', 'x', '--org', 'acme', '--concurrency-strategy', 'fifo']],
    [['env', 'create', 'x', '--org', 'acme', '--minimum-trust', 'admin']],
    [['env', 'create', 'x', '--org', 'acme', '--hold-expiry', '0']],
    [['env', 'create', 'x', '--org', 'acme', '--no-branch']],
  ])('exits 2 on bad usage: %j', async (argv) => {
    const r = await t.admin(argv);
    expect(r.code).toBe(2);
    expect(r.err).not.toBe('');
  });

  it('exits 1 with the field named when the API refuses a value', async () => {
    const r = await t.admin(['env', 'create', 'x', '--org', 'acme', '--glob', '!main']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('globPattern: a negated glob');
    expect(r.err).toContain('(HTTP 400)');
  });
});

describe('env list and get', () => {
  it('lists an org oldest first', async () => {
    const list = await t.adminJson<{ name: string }[]>(['env', 'list', '--org', 'acme']);
    expect(list.map((e) => e.name)).toEqual(['production', 'reviews', 'staging']);
    const table = await t.admin(['env', 'list', '--org', 'acme']);
    expect(table.code).toBe(0);
    expect(table.out.split('\n')[0]).toMatch(/^NAME\s+TYPE\s+GLOBPATTERN\s+ENABLED/);
    expect(table.out).toMatch(/^production\s+fixed\s+-\s+true\s+main,release\/\*\s+alice,bob\s+300\s+1 \(queue\)/m);
    expect((await t.admin(['env', 'list', '--org', 'nobody'])).out).toBe('(none)\n');
    expect((await t.admin(['env', 'list'])).code).toBe(2);
  });

  it('gets one by name in an org, or by id', async () => {
    const byName = await t.adminJson(['env', 'get', 'reviews', '--org', 'acme']);
    expect(byName).toMatchObject({ name: 'reviews', type: 'glob' });
    expect(await t.adminJson(['env', 'get', byName.id as string])).toEqual(byName);
    const missing = await t.admin(['env', 'get', 'nowhere', '--org', 'acme']);
    expect(missing).toMatchObject({ code: 1, err: 'kici-admin: no environment nowhere in acme (HTTP 404)\n' });
    const noOrg = await t.admin(['env', 'get', 'reviews']);
    expect(noOrg).toMatchObject({ code: 1, err: 'kici-admin: org: required to name an environment (or give its id) (HTTP 400)\n' });
  });
});

describe('env update', () => {
  it('changes only what its flags say; --no-… flags clear', async () => {
    const updated = await t.adminJson([
      'env', 'update', 'production', '--org', 'acme',
      '--no-branch', '--reviewer', 'dave', '--no-wait-timer', '--no-minimum-trust', '--concurrency-strategy', 'cancel-pending',
    ]);
    expect(updated).toMatchObject({
      branchRestrictions: [],
      requiredReviewers: ['dave'],
      waitTimerSeconds: null,
      minimumTrust: null,
      concurrencyStrategy: 'cancel-pending',
      concurrencyLimit: 1,
      triggerTypeFilters: ['push'],
      holdExpirySeconds: 86400,
    });
  });

  it('enables, disables, renames and switches a glob off', async () => {
    expect(await t.adminJson(['env', 'update', 'reviews', '--org', 'acme', '--enabled', '--no-glob', '--name', 'review-apps'])).toMatchObject({
      name: 'review-apps',
      enabled: true,
      type: 'fixed',
      globPattern: null,
    });
    expect(await t.adminJson(['env', 'update', 'review-apps', '--org', 'acme', '--disabled', '--glob', 'review/**', '--no-concurrency-limit'])).toMatchObject({
      enabled: false,
      type: 'glob',
      globPattern: 'review/**',
      concurrencyLimit: null,
    });
  });

  it('exits 2 when nothing or something contradictory is asked', async () => {
    expect((await t.admin(['env', 'update', 'production', '--org', 'acme'])).code).toBe(2);
    const both = await t.admin(['env', 'update', 'production', '--org', 'acme', '--enabled', '--disabled']);
    expect(both).toMatchObject({ code: 2, err: 'kici-admin: --enabled and --disabled contradict each other\n' });
  });

  it('exits 1 when the new name is taken', async () => {
    const r = await t.admin(['env', 'update', 'staging', '--org', 'acme', '--name', 'production']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('already exists in acme (HTTP 409)');
  });
});

describe('env delete', () => {
  it('wants --yes, is refused while holds are pending, and deletes once they are decided', async () => {
    const env = await t.adminJson(['env', 'create', 'doomed', '--org', 'acme']);
    expect((await t.admin(['env', 'delete', 'doomed', '--org', 'acme'])).code).toBe(2);

    await setPendingHolds(t.orch.store, env.id as string, 2);
    const refused = await t.admin(['env', 'delete', 'doomed', '--org', 'acme', '--yes']);
    expect(refused).toMatchObject({
      code: 1,
      err: 'kici-admin: environment doomed has 2 pending held runs; approve or reject them (or let them expire) before deleting it (HTTP 409)\n',
    });

    await setPendingHolds(t.orch.store, env.id as string, 0);
    const deleted = await t.admin(['env', 'delete', 'doomed', '--org', 'acme', '--yes']);
    expect(deleted).toMatchObject({ code: 0, out: `deleted environment doomed (acme, ${env.id})\n` });
    expect((await t.admin(['env', 'get', env.id as string])).code).toBe(1);
  });

  it('prints the deleted record with --json', async () => {
    const env = await t.adminJson(['env', 'create', 'short-lived', '--org', 'acme']);
    expect(await t.adminJson(['env', 'delete', env.id as string, '--yes'])).toMatchObject({ id: env.id, name: 'short-lived', deleted: true });
  });
});
