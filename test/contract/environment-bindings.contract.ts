/**
 * Environment bindings and the scope listing of sealed secrets, one suite per database driver:
 * bind and unbind each commit with their audit row, a (pattern, backend) pair is bound once per
 * environment (a null backend counting as one value), bindings go with their environment, a job's
 * environments' bindings are read for its org only, and the scope listing never shows the internal
 * `source/` scopes. Secret set and unset through the store commit with their audit rows too.
 *
 * Usage: `describeEnvironmentBindingContract('pglite', () => openTestStore('pglite'))`.
 */
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock/index.js';
import { createDatabaseSecretStore, type MasterKey, sourceSecretScope } from '../../src/secrets/index.js';
import { type AuditActor, EnvironmentBindingExistsError, type NewAuditEvent, type Store } from '../../src/store/index.js';
import { queryBuilderOf } from '../../src/store/testing.js';

const T0 = new Date('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const KEY: MasterKey = { bytes: randomBytes(32), version: 1 };

let counter = 0;
const unique = (base: string) => `${base}_${process.pid}_${++counter}`;
const actor = (): AuditActor => ({ name: unique('actor'), tokenId: 'adm_contract' });

export function describeEnvironmentBindingContract(name: string, open: () => Promise<{ store: Store; dataDir: string }>): void {
  describe(`environment bindings contract [${name}]`, () => {
    let opened: { store: Store; dataDir: string } | undefined;
    beforeAll(async () => {
      opened = await open();
    });
    afterAll(async () => {
      await opened?.store.close();
      if (opened) rmSync(opened.dataDir, { recursive: true, force: true });
    });
    const store = () => {
      if (!opened) throw new Error('store not open');
      return opened.store;
    };
    const newEnvironment = async (orgId = unique('org'), envName = 'production') => store().environments.create({ orgId, name: envName }, T0);
    const auditOf = (by: AuditActor) => store().audit.list({ limit: 500, actor: by.name });

    it('binds with its audit row, lists oldest first, and unbinds with its audit row', async () => {
      const env = await newEnvironment();
      const by = actor();
      const first = await store().environmentBindings.create({ environment: env, scopePattern: 'aws/**', backend: null }, by, at(1));
      const second = await store().environmentBindings.create({ environment: env, scopePattern: 'aws/prod', backend: 'pg' }, by, at(2));
      expect(first).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), orgId: env.orgId, environmentId: env.id, scopePattern: 'aws/**', backend: null, createdAt: at(1) });
      expect(second).toMatchObject({ scopePattern: 'aws/prod', backend: 'pg' });
      expect((await store().environmentBindings.list(env.id)).map((b) => b.scopePattern)).toEqual(['aws/**', 'aws/prod']);
      expect(await store().environmentBindings.get(first!.id)).toEqual(first);

      const removed = await store().environmentBindings.delete(first!.id, env, by, at(3));
      expect(removed).toEqual(first);
      expect((await store().environmentBindings.list(env.id)).map((b) => b.id)).toEqual([second!.id]);

      const events = await auditOf(by);
      expect(events.map((e) => e.action)).toEqual(['environment.unbind', 'environment.bind', 'environment.bind']);
      expect(events[0]).toMatchObject({
        actor: by.name,
        actorTokenId: 'adm_contract',
        subject: { id: first!.id, name: 'production' },
        details: { environment: 'production', environmentId: env.id, scopePattern: 'aws/**', backend: null },
        orgId: env.orgId,
      });
    });

    it('binds a (pattern, backend) once per environment, a null backend counting as one value', async () => {
      const env = await newEnvironment();
      const other = await newEnvironment(env.orgId, 'staging');
      const by = actor();
      await store().environmentBindings.create({ environment: env, scopePattern: 'aws/**', backend: null }, by, at(1));
      await expect(store().environmentBindings.create({ environment: env, scopePattern: 'aws/**', backend: null }, by, at(2))).rejects.toBeInstanceOf(EnvironmentBindingExistsError);
      await store().environmentBindings.create({ environment: env, scopePattern: 'aws/**', backend: 'pg' }, by, at(3));
      await expect(store().environmentBindings.create({ environment: env, scopePattern: 'aws/**', backend: 'pg' }, by, at(4))).rejects.toThrow(/already bound to pg:aws\/\*\*/);
      // Another environment may bind the same pattern.
      await store().environmentBindings.create({ environment: other, scopePattern: 'aws/**', backend: null }, by, at(5));
      // The refusals wrote no audit row.
      expect((await auditOf(by)).length).toBe(3);
      // Hand-written SQL meets the same index.
      await expect(
        sql`insert into environment_bindings (org_id, environment_id, scope_pattern) values (${env.orgId}, ${env.id}::uuid, 'aws/**')`.execute(queryBuilderOf(store())),
      ).rejects.toThrow();
    });

    it('unbinding a binding of another environment, or none, changes and audits nothing', async () => {
      const env = await newEnvironment();
      const other = await newEnvironment(env.orgId, 'staging');
      const by = actor();
      const binding = await store().environmentBindings.create({ environment: env, scopePattern: 'gcp/*', backend: null }, by, at(1));
      expect(await store().environmentBindings.delete(binding!.id, other, by, at(2))).toBeNull();
      expect(await store().environmentBindings.delete('not-a-uuid', env, by, at(2))).toBeNull();
      expect(await store().environmentBindings.delete('00000000-0000-4000-8000-000000000000', env, by, at(2))).toBeNull();
      expect((await store().environmentBindings.list(env.id)).length).toBe(1);
      expect((await auditOf(by)).map((e) => e.action)).toEqual(['environment.bind']);
    });

    it('bindings go with their environment; binding a deleted environment answers null', async () => {
      const env = await newEnvironment();
      const by = actor();
      await store().environmentBindings.create({ environment: env, scopePattern: 'aws/**', backend: null }, by, at(1));
      await store().environments.delete(env.id);
      expect(await store().environmentBindings.list(env.id)).toEqual([]);
      expect(await store().environmentBindings.create({ environment: env, scopePattern: 'aws/**', backend: null }, by, at(2))).toBeNull();
    });

    it("reads a job's environments' bindings in its org only", async () => {
      const prod = await newEnvironment();
      const staging = await newEnvironment(prod.orgId, 'staging');
      const foreign = await newEnvironment(unique('org'), 'production');
      const by = actor();
      await store().environmentBindings.create({ environment: prod, scopePattern: 'aws/prod', backend: null }, by, at(1));
      await store().environmentBindings.create({ environment: staging, scopePattern: 'aws/staging', backend: null }, by, at(2));
      await store().environmentBindings.create({ environment: foreign, scopePattern: 'aws/**', backend: null }, by, at(3));
      const read = await store().environmentBindings.listForEnvironments(prod.orgId, [staging.id, prod.id, foreign.id, 'nonsense']);
      expect(read.map((b) => b.scopePattern).sort()).toEqual(['aws/prod', 'aws/staging']);
      expect(await store().environmentBindings.listForEnvironments(prod.orgId, [])).toEqual([]);
    });

    it('lists scopes with their names, never the internal source/ scopes; set and unset commit with their audit rows', async () => {
      const orgId = unique('org');
      const by = actor();
      const secrets = createDatabaseSecretStore(store().sealedSecrets, { current: KEY }, new ManualClock(T0.getTime()));
      const audit = (action: 'secret.set' | 'secret.unset', scope: string, key: string): NewAuditEvent => ({
        actor: by,
        action,
        subject: { id: `${scope}/${key}`, name: key },
        details: { scope, name: key },
        orgId,
      });
      await secrets.put(orgId, 'aws/prod', 'DEPLOY_KEY', 'value-one', audit('secret.set', 'aws/prod', 'DEPLOY_KEY'));
      await secrets.put(orgId, 'aws/prod', 'AWS_REGION', 'eu-west-1', audit('secret.set', 'aws/prod', 'AWS_REGION'));
      await secrets.put(orgId, 'aws', 'AWS_REGION', 'us-east-1');
      await secrets.put(orgId, sourceSecretScope('src_1'), 'token', 'ghp_internal');
      await secrets.put(unique('org'), 'aws/prod', 'OTHER_ORG', 'x');
      expect(await store().sealedSecrets.listScopes(orgId)).toEqual([
        { scope: 'aws', names: ['AWS_REGION'] },
        { scope: 'aws/prod', names: ['AWS_REGION', 'DEPLOY_KEY'] },
      ]);

      expect(await secrets.delete(orgId, 'aws/prod', 'NOPE', audit('secret.unset', 'aws/prod', 'NOPE'))).toBe(false);
      expect(await secrets.delete(orgId, 'aws/prod', 'DEPLOY_KEY', audit('secret.unset', 'aws/prod', 'DEPLOY_KEY'))).toBe(true);
      const events = await auditOf(by);
      expect(events.map((e) => `${e.action} ${e.subject.id}`)).toEqual(['secret.unset aws/prod/DEPLOY_KEY', 'secret.set aws/prod/AWS_REGION', 'secret.set aws/prod/DEPLOY_KEY']);
      expect(JSON.stringify(events)).not.toContain('value-one');
      expect(JSON.stringify(events)).not.toContain('eu-west-1');
    });
  });
}
