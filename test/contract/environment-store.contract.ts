/**
 * The EnvironmentStore port's contract, one suite for every implementation: the in-memory store
 * (src/environments) and the store room's repository on PGlite and on PostgreSQL. Every test
 * works in an org of its own, so tests sharing one backend never see each other's rows.
 *
 * Usage: `describeEnvironmentStoreContract('memory', async () => backend)`, once per backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_PROTECTION,
  EnvironmentDeleteBlockedError,
  EnvironmentNameTakenError,
  type EnvironmentStore,
  InvalidEnvironmentError,
  type NewEnvironment,
} from '../../src/environments/index.js';

export interface EnvironmentStoreBackend {
  store: EnvironmentStore;
  /** Make `count` holds of the environment pending (0: decide every pending one), as held_runs rows. */
  setPendingHolds(environmentId: string, count: number): Promise<void>;
  close(): Promise<void>;
}

const T0 = new Date('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let orgs = 0;
const newOrg = () => `org-${process.pid}-${++orgs}`;

export function describeEnvironmentStoreContract(name: string, open: () => Promise<EnvironmentStoreBackend>): void {
  describe(`EnvironmentStore contract [${name}]`, () => {
    let backend: EnvironmentStoreBackend | undefined;
    beforeAll(async () => {
      backend = await open();
    });
    afterAll(async () => {
      await backend?.close();
    });
    const store = () => {
      if (!backend) throw new Error('backend not open');
      return backend.store;
    };

    describe('create and read', () => {
      it('fills in the seed defaults and reads back by id and by name', async () => {
        const orgId = newOrg();
        const env = await store().create({ orgId, name: 'production' }, T0);
        expect(env).toEqual({ id: expect.stringMatching(UUID), orgId, name: 'production', type: 'fixed', globPattern: null, ...DEFAULT_PROTECTION, createdAt: T0, updatedAt: T0 });
        expect(env).toMatchObject({ enabled: true, branchRestrictions: [], requiredReviewers: [], concurrencyLimit: null, concurrencyStrategy: 'queue', holdExpirySeconds: 3600 });
        expect(await store().get(env.id)).toEqual(env);
        expect(await store().get(env.id, orgId)).toEqual(env);
        expect(await store().get(env.id, newOrg())).toBeNull();
        expect(await store().findByName(orgId, 'production')).toEqual(env);
        expect(await store().findByName(newOrg(), 'production')).toBeNull();
      });

      it('keeps every protection rule as given', async () => {
        const orgId = newOrg();
        const rules = {
          enabled: false,
          branchRestrictions: ['main', 'release/*'],
          triggerTypeFilters: ['push'],
          repoPatterns: ['acme/*'],
          minimumTrust: 'trusted' as const,
          requiredReviewers: ['alice', 'bob'],
          waitTimerSeconds: 0,
          concurrencyLimit: 1,
          concurrencyStrategy: 'cancel-pending' as const,
          holdExpirySeconds: 86400,
        };
        const env = await store().create({ orgId, name: 'prod', ...rules }, T0);
        expect(env).toMatchObject(rules);
        expect(await store().get(env.id)).toMatchObject(rules);
      });

      it('makes an environment with a glob a glob environment', async () => {
        const orgId = newOrg();
        const env = await store().create({ orgId, name: 'review/*', globPattern: 'review/*' }, T0);
        expect(env).toMatchObject({ type: 'glob', globPattern: 'review/*' });
        const named = await store().create({ orgId, name: 'reviews', type: 'glob', globPattern: 'review/**' }, T0);
        expect(named).toMatchObject({ name: 'reviews', type: 'glob', globPattern: 'review/**' });
      });

      it('refuses a broken rule, naming the field, and writes nothing', async () => {
        const orgId = newOrg();
        const cases: [Partial<NewEnvironment>, string][] = [
          [{ type: 'glob' }, 'globPattern'],
          [{ type: 'fixed', globPattern: 'review/*' }, 'globPattern'],
          [{ globPattern: '!main' }, 'globPattern'],
          [{ waitTimerSeconds: -1 }, 'waitTimerSeconds'],
          [{ concurrencyLimit: 1.5 }, 'concurrencyLimit'],
          [{ holdExpirySeconds: 0 }, 'holdExpirySeconds'],
          [{ branchRestrictions: [''] }, 'branchRestrictions.0'],
          [{ requiredReviewers: ['two words'] }, 'requiredReviewers.0'],
          [{ concurrencyStrategy: 'fifo' as never }, 'concurrencyStrategy'],
        ];
        for (const [input, field] of cases) {
          const refusal = await store().create({ orgId, name: 'broken', ...input }, T0).catch((e: unknown) => e);
          expect(refusal, JSON.stringify(input)).toBeInstanceOf(InvalidEnvironmentError);
          expect((refusal as InvalidEnvironmentError).field).toBe(field);
        }
        await expect(store().create({ orgId, name: 'has space' }, T0)).rejects.toBeInstanceOf(InvalidEnvironmentError);
        await expect(store().create({ orgId, name: '' }, T0)).rejects.toBeInstanceOf(InvalidEnvironmentError);
        expect(await store().list(orgId)).toEqual([]);
      });

      it('keeps names unique within an org only', async () => {
        const orgId = newOrg();
        await store().create({ orgId, name: 'staging' }, T0);
        const taken = await store().create({ orgId, name: 'staging', waitTimerSeconds: 5 }, T0).catch((e: unknown) => e);
        expect(taken).toBeInstanceOf(EnvironmentNameTakenError);
        expect((taken as Error).message).toBe(`an environment named staging already exists in ${orgId}`);
        await expect(store().create({ orgId: newOrg(), name: 'staging' }, T0)).resolves.toMatchObject({ name: 'staging' });
        expect(await store().list(orgId)).toHaveLength(1);
      });

      it('lets exactly one of two concurrent creates of a name win', async () => {
        const orgId = newOrg();
        const results = await Promise.allSettled([store().create({ orgId, name: 'race' }, T0), store().create({ orgId, name: 'race' }, T0)]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        expect(rejected.reason).toBeInstanceOf(EnvironmentNameTakenError);
      });

      it('answers null for ids that name nothing, whatever their shape', async () => {
        for (const id of ['00000000-0000-4000-8000-000000000000', 'production', '', 'review/*']) {
          expect(await store().get(id)).toBeNull();
          expect(await store().update(id, { enabled: false }, T0)).toBeNull();
          expect(await store().delete(id)).toBeNull();
        }
      });

      it('hands out copies: changing a returned or given list changes nothing stored', async () => {
        const orgId = newOrg();
        const branches = ['main'];
        const env = await store().create({ orgId, name: 'copies', branchRestrictions: branches }, T0);
        branches.push('dev');
        env.branchRestrictions.push('feature/*');
        expect((await store().get(env.id))?.branchRestrictions).toEqual(['main']);
      });
    });

    describe('list', () => {
      it("lists one org's environments, oldest first, ties by id", async () => {
        const orgId = newOrg();
        const late = await store().create({ orgId, name: 'late' }, at(20));
        const a = await store().create({ orgId, name: 'same-a' }, at(10));
        const b = await store().create({ orgId, name: 'same-b' }, at(10));
        const first = await store().create({ orgId, name: 'first' }, at(0));
        await store().create({ orgId: newOrg(), name: 'elsewhere' }, at(5));
        const tied = [a, b].sort((x, y) => (x.id < y.id ? -1 : 1));
        expect((await store().list(orgId)).map((e) => e.name)).toEqual([first.name, ...tied.map((e) => e.name), late.name]);
        expect(await store().list(newOrg())).toEqual([]);
      });
    });

    describe('update', () => {
      it('changes only the fields given, stamps updatedAt, keeps createdAt', async () => {
        const orgId = newOrg();
        const env = await store().create({ orgId, name: 'prod', branchRestrictions: ['main'], concurrencyLimit: 2 }, T0);
        const updated = await store().update(env.id, { requiredReviewers: ['alice'], waitTimerSeconds: 300 }, at(60));
        expect(updated).toEqual({ ...env, requiredReviewers: ['alice'], waitTimerSeconds: 300, updatedAt: at(60) });
        expect(await store().get(env.id)).toEqual(updated);
      });

      it('clears a nullable rule with null and a list with []', async () => {
        const orgId = newOrg();
        const env = await store().create({ orgId, name: 'prod', branchRestrictions: ['main'], concurrencyLimit: 2, minimumTrust: 'known', waitTimerSeconds: 30 }, T0);
        const cleared = await store().update(env.id, { branchRestrictions: [], concurrencyLimit: null, minimumTrust: null, waitTimerSeconds: null }, at(1));
        expect(cleared).toMatchObject({ branchRestrictions: [], concurrencyLimit: null, minimumTrust: null, waitTimerSeconds: null });
      });

      it('turns a fixed environment into a glob one and back with its pattern', async () => {
        const orgId = newOrg();
        const env = await store().create({ orgId, name: 'previews' }, T0);
        expect(await store().update(env.id, { globPattern: 'preview/*' }, at(1))).toMatchObject({ type: 'glob', globPattern: 'preview/*' });
        expect(await store().update(env.id, { waitTimerSeconds: 1 }, at(2))).toMatchObject({ type: 'glob', globPattern: 'preview/*' });
        expect(await store().update(env.id, { type: 'fixed' }, at(3))).toMatchObject({ type: 'fixed', globPattern: null });
        await expect(store().update(env.id, { type: 'glob' }, at(4))).rejects.toBeInstanceOf(InvalidEnvironmentError);
        expect(await store().update(env.id, { globPattern: 'preview/**' }, at(5))).toMatchObject({ type: 'glob', globPattern: 'preview/**' });
        expect(await store().update(env.id, { globPattern: null }, at(6))).toMatchObject({ type: 'fixed', globPattern: null });
      });

      it('refuses a broken change or a taken name and leaves the record as it was', async () => {
        const orgId = newOrg();
        await store().create({ orgId, name: 'taken' }, T0);
        const env = await store().create({ orgId, name: 'mine', waitTimerSeconds: 5 }, T0);
        await expect(store().update(env.id, { holdExpirySeconds: -5 }, at(1))).rejects.toBeInstanceOf(InvalidEnvironmentError);
        await expect(store().update(env.id, { name: 'taken', waitTimerSeconds: 9 }, at(1))).rejects.toBeInstanceOf(EnvironmentNameTakenError);
        expect(await store().get(env.id)).toEqual(env);
        expect(await store().update(env.id, { name: 'renamed' }, at(2))).toMatchObject({ name: 'renamed', waitTimerSeconds: 5 });
        expect(await store().findByName(orgId, 'mine')).toBeNull();
      });

      it('merges two concurrent updates of different rules', async () => {
        const orgId = newOrg();
        const env = await store().create({ orgId, name: 'busy' }, T0);
        await Promise.all([
          store().update(env.id, { enabled: false }, at(1)),
          store().update(env.id, { waitTimerSeconds: 42 }, at(1)),
          store().update(env.id, { requiredReviewers: ['carol'] }, at(1)),
        ]);
        expect(await store().get(env.id)).toMatchObject({ enabled: false, waitTimerSeconds: 42, requiredReviewers: ['carol'] });
      });
    });

    describe('delete', () => {
      it('removes the environment and returns it', async () => {
        const orgId = newOrg();
        const env = await store().create({ orgId, name: 'gone' }, T0);
        expect(await store().delete(env.id)).toEqual(env);
        expect(await store().get(env.id)).toBeNull();
        expect(await store().delete(env.id)).toBeNull();
        // The name is free again.
        await expect(store().create({ orgId, name: 'gone' }, T0)).resolves.toMatchObject({ name: 'gone' });
      });

      it('is refused while holds are pending, naming how many, and allowed once they are decided', async () => {
        const orgId = newOrg();
        const env = await store().create({ orgId, name: 'production' }, T0);
        await backend!.setPendingHolds(env.id, 2);
        const refusal = await store().delete(env.id).catch((e: unknown) => e);
        expect(refusal).toBeInstanceOf(EnvironmentDeleteBlockedError);
        expect(refusal).toMatchObject({ environmentName: 'production', pendingHolds: 2 });
        expect((refusal as Error).message).toBe(
          'environment production has 2 pending held runs; approve or reject them (or let them expire) before deleting it',
        );
        expect(await store().get(env.id)).toEqual(env);

        await backend!.setPendingHolds(env.id, 1);
        await expect(store().delete(env.id)).rejects.toThrow('has 1 pending held run;');
        await backend!.setPendingHolds(env.id, 0);
        expect(await store().delete(env.id)).toEqual(env);
      });
    });
  });
}
