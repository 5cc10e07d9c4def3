/**
 * The store's EnvironmentVariableRepository on both drivers: variables and per-source overrides
 * set (upsert), unset and listed; a lock kept across a replaced value; rows that cannot belong to
 * the environment (another org, a deleted environment) refused; the cascade on delete; and the
 * dispatch read, `forEnvironments`, in at most two statements whatever the number of environments.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { foldVariables, variablesOf } from '../../../src/environments/index.js';
import type { Store } from '../../../src/store/index.js';
import { describeOnBothDrivers, uniqueOrg } from '../../support/store-drivers.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const later = (ms: number) => new Date(T0.getTime() + ms);

async function environment(store: Store, orgId = uniqueOrg(), name = 'production') {
  return store.environments.create({ orgId, name }, T0);
}

describeOnBothDrivers('environment variables', (store) => {
  it('sets, replaces, lists by key and unsets variables', async () => {
    const env = await environment(store());
    const vars = store().environmentVariables;
    expect(await vars.listVariables(env.id)).toEqual([]);

    const created = await vars.setVariable(env, { key: 'REGION', value: 'eu' }, T0);
    expect(created).toEqual({ created: true, row: { environmentId: env.id, key: 'REGION', value: 'eu', locked: false, createdAt: T0, updatedAt: T0 } });
    await vars.setVariable(env, { key: 'API_URL', value: 'https://api' }, T0);
    const replaced = await vars.setVariable(env, { key: 'REGION', value: 'us' }, later(1));
    expect(replaced).toEqual({ created: false, row: { environmentId: env.id, key: 'REGION', value: 'us', locked: false, createdAt: T0, updatedAt: later(1) } });

    expect((await vars.listVariables(env.id)).map((v) => [v.key, v.value])).toEqual([
      ['API_URL', 'https://api'],
      ['REGION', 'us'],
    ]);
    expect(await vars.getVariable(env.id, 'REGION')).toMatchObject({ value: 'us' });
    expect(await vars.getVariable(env.id, 'NOPE')).toBeNull();

    expect(await vars.unsetVariable(env.id, 'REGION')).toBe(true);
    expect(await vars.unsetVariable(env.id, 'REGION')).toBe(false);
    expect(await vars.unsetVariable('not-a-uuid', 'REGION')).toBe(false);
    expect((await vars.listVariables(env.id)).map((v) => v.key)).toEqual(['API_URL']);
  });

  it('keeps a lock when a value is replaced without saying, and changes it when told', async () => {
    const env = await environment(store());
    const vars = store().environmentVariables;
    await vars.setVariable(env, { key: 'REGION', value: 'eu', locked: true }, T0);
    expect((await vars.setVariable(env, { key: 'REGION', value: 'us' }, later(1)))?.row).toMatchObject({ value: 'us', locked: true });
    expect((await vars.setVariable(env, { key: 'REGION', value: 'us', locked: false }, later(2)))?.row.locked).toBe(false);
    expect((await vars.setVariable(env, { key: 'REGION', value: 'us' }, later(3)))?.row.locked).toBe(false);
  });

  it('keeps environments apart and values whole (multi-line, 64 KiB, unicode)', async () => {
    const orgId = uniqueOrg();
    const prod = await environment(store(), orgId, 'production');
    const staging = await environment(store(), orgId, 'staging');
    const vars = store().environmentVariables;
    const big = 'é'.repeat(32 * 1024);
    await vars.setVariable(prod, { key: 'CERT', value: 'line 1\nline 2\n' }, T0);
    await vars.setVariable(staging, { key: 'BIG', value: big }, T0);
    expect((await vars.listVariables(prod.id)).map((v) => v.value)).toEqual(['line 1\nline 2\n']);
    expect((await vars.listVariables(staging.id)).map((v) => v.value)).toEqual([big]);
  });

  it('refuses a row naming another org, or an environment that is gone', async () => {
    const env = await environment(store());
    const vars = store().environmentVariables;
    expect(await vars.setVariable({ id: env.id, orgId: uniqueOrg() }, { key: 'A', value: '1' }, T0)).toBeNull();
    expect(await vars.setOverride({ id: env.id, orgId: uniqueOrg() }, { routingKey: 'src_x', key: 'A', value: '1' }, T0)).toBeNull();
    expect(await vars.setVariable({ id: randomUUID(), orgId: env.orgId }, { key: 'A', value: '1' }, T0)).toBeNull();
    expect(await vars.setVariable({ id: 'not-a-uuid', orgId: env.orgId }, { key: 'A', value: '1' }, T0)).toBeNull();
    expect(await vars.listVariables(env.id)).toEqual([]);
  });

  it("sets, lists (all or one source's) and unsets overrides", async () => {
    const env = await environment(store());
    const vars = store().environmentVariables;
    expect((await vars.setOverride(env, { routingKey: 'src_b', key: 'LOG', value: 'debug' }, T0))?.created).toBe(true);
    await vars.setOverride(env, { routingKey: 'src_a', key: 'LOG', value: 'trace' }, T0);
    await vars.setOverride(env, { routingKey: 'src_a', key: 'EXTRA', value: '1' }, T0);
    const replaced = await vars.setOverride(env, { routingKey: 'src_a', key: 'LOG', value: 'warn' }, later(1));
    expect(replaced).toEqual({ created: false, row: { environmentId: env.id, routingKey: 'src_a', key: 'LOG', value: 'warn', createdAt: T0, updatedAt: later(1) } });

    expect((await vars.listOverrides(env.id)).map((o) => [o.routingKey, o.key, o.value])).toEqual([
      ['src_a', 'EXTRA', '1'],
      ['src_a', 'LOG', 'warn'],
      ['src_b', 'LOG', 'debug'],
    ]);
    expect((await vars.listOverrides(env.id, 'src_b')).map((o) => o.key)).toEqual(['LOG']);
    expect(await vars.listOverrides(env.id, 'src_none')).toEqual([]);

    expect(await vars.unsetOverride(env.id, 'src_a', 'LOG')).toBe(true);
    expect(await vars.unsetOverride(env.id, 'src_a', 'LOG')).toBe(false);
    expect(await vars.unsetOverride(env.id, 'src_b', 'EXTRA')).toBe(false);
    expect((await vars.listOverrides(env.id)).map((o) => [o.routingKey, o.key])).toEqual([
      ['src_a', 'EXTRA'],
      ['src_b', 'LOG'],
    ]);
  });

  it('an override of a locked key is stored (it applies once unlocked)', async () => {
    const env = await environment(store());
    const vars = store().environmentVariables;
    await vars.setVariable(env, { key: 'REGION', value: 'eu', locked: true }, T0);
    expect((await vars.setOverride(env, { routingKey: 'src_a', key: 'REGION', value: 'us' }, T0))?.created).toBe(true);
    const read = async () => {
      const set = (await vars.forEnvironments([env.id], 'src_a')).get(env.id)!;
      return variablesOf(set.variables, set.overrides, 'src_a');
    };
    expect(await read()).toEqual({ REGION: 'eu' });
    await vars.setVariable(env, { key: 'REGION', value: 'eu', locked: false }, later(1));
    expect(await read()).toEqual({ REGION: 'us' });
  });

  it('deleting the environment deletes its variables and overrides', async () => {
    const env = await environment(store());
    const vars = store().environmentVariables;
    await vars.setVariable(env, { key: 'A', value: '1' }, T0);
    await vars.setOverride(env, { routingKey: 'src_a', key: 'A', value: '2' }, T0);
    await store().environments.delete(env.id);
    expect(await vars.listVariables(env.id)).toEqual([]);
    expect(await vars.listOverrides(env.id)).toEqual([]);
    expect(await vars.setVariable(env, { key: 'A', value: '1' }, T0)).toBeNull();
  });

  it("forEnvironments reads every environment with one source's overrides in two statements", async () => {
    const orgId = uniqueOrg();
    const eu = await environment(store(), orgId, 'eu');
    const us = await environment(store(), orgId, 'us');
    const empty = await environment(store(), orgId, 'empty');
    const vars = store().environmentVariables;
    await vars.setVariable(eu, { key: 'REGION', value: 'eu', locked: true }, T0);
    await vars.setVariable(eu, { key: 'LOG', value: 'info' }, T0);
    await vars.setVariable(us, { key: 'REGION', value: 'us' }, T0);
    await vars.setOverride(eu, { routingKey: 'src_a', key: 'REGION', value: 'ignored' }, T0);
    await vars.setOverride(eu, { routingKey: 'src_a', key: 'LOG', value: 'debug' }, T0);
    await vars.setOverride(us, { routingKey: 'src_b', key: 'REGION', value: 'other source' }, T0);

    const missing = randomUUID();
    const before = store().statements();
    const sets = await vars.forEnvironments([eu.id, us.id, empty.id, missing, 'not-a-uuid'], 'src_a');
    expect(store().statements().statements - before.statements).toBe(2);

    expect(sets.get(eu.id)).toEqual({
      variables: [
        { key: 'LOG', value: 'info', locked: false },
        { key: 'REGION', value: 'eu', locked: true },
      ],
      overrides: [
        { routingKey: 'src_a', key: 'LOG', value: 'debug' },
        { routingKey: 'src_a', key: 'REGION', value: 'ignored' },
      ],
    });
    expect(sets.get(us.id)).toEqual({ variables: [{ key: 'REGION', value: 'us', locked: false }], overrides: [] });
    for (const id of [empty.id, missing, 'not-a-uuid']) expect(sets.get(id)).toEqual({ variables: [], overrides: [] });

    // The job's view: each environment with its overrides, folded in the job's order.
    const folded = (order: string[]) => foldVariables(order.map((id) => variablesOf(sets.get(id)!.variables, sets.get(id)!.overrides, 'src_a')));
    expect(folded([eu.id, us.id])).toEqual({ REGION: 'us', LOG: 'debug' });
    expect(folded([us.id, eu.id])).toEqual({ REGION: 'eu', LOG: 'debug' });

    // No source: one statement, no overrides; an id in upper case is found all the same.
    const mark = store().statements();
    const bare = await vars.forEnvironments([eu.id.toUpperCase()], null);
    expect(store().statements().statements - mark.statements).toBe(1);
    expect(bare.get(eu.id.toUpperCase())?.variables.map((v) => v.key)).toEqual(['LOG', 'REGION']);
    expect(bare.get(eu.id.toUpperCase())?.overrides).toEqual([]);

    // Nothing asked: nothing sent.
    const idle = store().statements();
    expect((await vars.forEnvironments([], 'src_a')).size).toBe(0);
    expect(store().statements().statements).toBe(idle.statements);
  });
});
