/**
 * The secret_backends table (migration 016) and its repository on both drivers, with the secrets
 * room's sealing on top: a backend's config is stored sealed (bound to its name: copied onto another
 * row it does not open), names are unique and never `pg`, create and remove commit with their audit
 * rows, a backend a binding names is not removed, only enabled Vault rows are read for dispatch, and
 * a config another master key sealed is reported, not thrown, and fails only when used.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { backendConfigBinding, createSecretBackends, type MasterKey, open, seal } from '../../../src/secrets/index.js';
import { SecretBackendExistsError, SecretBackendInUseError } from '../../../src/store/index.js';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { describeOnBothDrivers, uniqueOrg } from '../../support/store-drivers.js';

const KEY: MasterKey = { bytes: randomBytes(32), version: 1 };
const OTHER_KEY: MasterKey = { bytes: randomBytes(32), version: 2 };
const T0 = new Date('2026-03-01T10:00:00.000Z');
const BY = { name: 'backend-test', tokenId: 'adm_backend' };
let counter = 0;
const uniqueName = () => `vault-${process.pid}-${++counter}`;
const config = (token: string) => ({ url: 'https://vault.example.com', auth: { method: 'token' as const, token }, mountPath: 'secret', basePath: 'kici/secrets' });

describeOnBothDrivers('secret backends', (store) => {
  const backends = (key = KEY) => createSecretBackends({ repository: store().secretBackends, keys: { current: key }, clock: new ManualClock(T0.getTime()) });

  it('stores the config sealed to the name, and shows it without the token', async () => {
    const name = uniqueName();
    const view = await backends().add({ name, config: config('hvs.sealed-token-1') }, BY);
    expect(view).toMatchObject({ name, type: 'vault', url: 'https://vault.example.com', authMethod: 'token', mountPath: 'secret', basePath: 'kici/secrets', namespace: null, scopeFilter: '**', enabled: true, healthStatus: 'unknown', createdAt: T0.toISOString() });
    expect(JSON.stringify(view)).not.toContain('hvs.sealed-token-1');
    const record = (await store().secretBackends.get(name))!;
    expect(record.config!.ciphertext.toString('latin1')).not.toContain('hvs.sealed-token-1');
    expect(JSON.parse(open(KEY, backendConfigBinding(name), record.config!))).toMatchObject({ token: 'hvs.sealed-token-1' });
    expect(() => open(KEY, backendConfigBinding(`${name}-other`), record.config!)).toThrow(/could not be opened/);
  });

  it('refuses a taken name and the name pg (the API and the table)', async () => {
    const name = uniqueName();
    await backends().add({ name, config: config('t') }, BY);
    await expect(backends().add({ name, config: config('t') }, BY)).rejects.toBeInstanceOf(SecretBackendExistsError);
    await expect(backends().add({ name: 'pg', config: config('t') }, BY)).rejects.toThrow('name: pg is the database backend, always there');
    const sealed = seal(KEY, backendConfigBinding('pg'), '{}');
    await expect(store().secretBackends.create({ name: 'pg', type: 'vault', config: sealed, auditDetails: {} }, BY, T0)).rejects.toThrow(/check/i);
  });

  it('reads only enabled Vault rows for dispatch, and records health', async () => {
    const name = uniqueName();
    await backends().add({ name, config: config('t') }, BY);
    const disabled = uniqueName();
    await store().secretBackends.create({ name: disabled, type: 'vault', config: seal(KEY, backendConfigBinding(disabled), JSON.stringify({ v: 1, url: 'https://v', authMethod: 'token', token: 't', mountPath: 'secret', basePath: 'b' })), enabled: false, auditDetails: {} }, BY, T0);
    const names = (await backends().forDispatch()).map((b) => b.name);
    expect(names).toContain(name);
    expect(names).not.toContain(disabled);
    expect(await store().secretBackends.recordHealth(name, { status: 'unhealthy', error: 'HTTP 503' }, T0)).toBe(true);
    expect((await backends().get(name))!).toMatchObject({ healthStatus: 'unhealthy', lastError: 'HTTP 503', lastHealthCheckAt: T0.toISOString() });
    expect(await store().secretBackends.recordHealth('no-such-backend', { status: 'healthy', error: null }, T0)).toBe(false);
  });

  it('a config sealed with another key is reported in views and fails only when a binding reaches it', async () => {
    const name = uniqueName();
    await backends(OTHER_KEY).add({ name, config: config('t') }, BY);
    expect((await backends().get(name))!).toMatchObject({ name, url: null, configError: expect.stringContaining("cannot be opened with this orchestrator's master key") });
    const broken = (await backends().forDispatch()).find((b) => b.name === name)!;
    await expect(broken.listScopes('acme')).rejects.toThrow(`secret backend ${name}: its configuration cannot be opened with this orchestrator's master key`);
    // Opened during a rotation: the old key is tried after the current one.
    const rotating = createSecretBackends({ repository: store().secretBackends, keys: { current: KEY, old: OTHER_KEY }, clock: new ManualClock(T0.getTime()) });
    expect((await rotating.get(name))!.url).toBe('https://vault.example.com');
  });

  it('is not removed while a binding names it; removal commits with its audit row', async () => {
    const name = uniqueName();
    await backends().add({ name, config: config('hvs.audit-token-2') }, BY);
    const orgId = uniqueOrg();
    const env = await store().environments.create({ orgId, name: 'production' }, T0);
    const binding = (await store().environmentBindings.create({ environment: env, scopePattern: 'deploy/**', backend: name }, BY, T0))!;
    const refused = await backends()
      .remove(name, BY)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SecretBackendInUseError);
    expect((refused as SecretBackendInUseError).boundBy).toEqual([`${orgId}/production`]);
    expect(await store().secretBackends.get(name)).not.toBeNull();
    await store().environmentBindings.delete(binding.id, env, BY, T0);
    expect((await backends().remove(name, BY))!.name).toBe(name);
    expect(await backends().remove(name, BY)).toBeNull();
    const { rows } = await sql<{ action: string; details: unknown }>`select action, details from audit_events where subject_name = ${name} order by id`.execute(queryBuilderOf(store()));
    expect(rows.map((r) => r.action)).toEqual(['secret_backend.create', 'secret_backend.remove']);
    expect(JSON.stringify(rows)).not.toContain('hvs.audit-token-2');
  });
});
