/**
 * The secret resolver over the real store (both drivers): bindings of the job's environments and
 * sealed values in scopes become the map of values a job's steps name; a missing, refused or
 * unreadable secret, or a failing backend a binding reaches, is a SecretResolutionError saying
 * which names and where it looked — never a value. Only the winning values are opened.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import {
  createDatabaseSecretStore,
  createSecretResolver,
  type MasterKey,
  type SecretBackend,
  SecretResolutionError,
  type SecretStore,
} from '../../../src/secrets/index.js';
import type { Environment } from '../../../src/environments/index.js';
import type { Store } from '../../../src/store/index.js';
import { describeOnBothDrivers, uniqueOrg } from '../../support/store-drivers.js';

const KEY: MasterKey = { bytes: randomBytes(32), version: 1 };
const OTHER_KEY: MasterKey = { bytes: randomBytes(32), version: 1 };
const T0 = new Date('2026-03-01T10:00:00.000Z');
const BY = { name: 'resolver-test', tokenId: 'adm_resolver' };

/** A store's secrets, with every value read counted. */
function counted(store: Store, key = KEY): SecretStore & { reads: string[] } {
  const inner = createDatabaseSecretStore(store.sealedSecrets, { current: key }, new ManualClock(T0.getTime()));
  const reads: string[] = [];
  return {
    ...inner,
    reads,
    get(orgId, scope, name) {
      reads.push(`${scope}:${name}`);
      return inner.get(orgId, scope, name);
    },
  };
}

async function setUp(store: Store, bindings: Record<string, string[]>, values: Record<string, Record<string, string>>) {
  const orgId = uniqueOrg();
  const secrets = counted(store);
  const envs: Record<string, Environment> = {};
  for (const [envName, patterns] of Object.entries(bindings)) {
    const env = await store.environments.create({ orgId, name: envName }, T0);
    envs[envName] = env;
    for (const pattern of patterns) {
      const [backend, scopePattern] = pattern.includes(':') ? pattern.split(':') : [null, pattern];
      await store.environmentBindings.create({ environment: env, scopePattern: scopePattern!, backend }, BY, T0);
    }
  }
  for (const [scope, names] of Object.entries(values)) {
    for (const [name, value] of Object.entries(names)) await secrets.put(orgId, scope, name, value);
  }
  const resolver = createSecretResolver({ bindings: store.environmentBindings, secrets, scopes: store.sealedSecrets, environments: store.environments });
  const ids = (...names: string[]) => names.map((n) => envs[n]!.id);
  return { orgId, secrets, envs, resolver, ids };
}

async function resolutionError(promise: Promise<unknown>): Promise<SecretResolutionError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SecretResolutionError);
  return error as SecretResolutionError;
}

describeOnBothDrivers('secret resolver', (store) => {
  it('resolves each name from its winning scope and opens only the winners', async () => {
    const { orgId, secrets, resolver, ids } = await setUp(
      store(),
      { production: ['aws/**', 'aws/prod/**'] },
      {
        'aws/shared': { AWS_REGION: 'shared-region', SHARED_ONLY: 'shared-only' },
        'aws/prod': { AWS_REGION: 'prod-region', DB_PASSWORD: 'prod-db' },
        'aws/prod/db': { DB_PASSWORD: 'deep-db' },
        gcp: { GCP_KEY: 'unreachable' },
      },
    );
    const values = await resolver.resolve(orgId, ids('production'), ['AWS_REGION', 'DB_PASSWORD', 'SHARED_ONLY', 'AWS_REGION']);
    // The reference example: aws/prod and aws/shared both depth 2, aws/prod first in code-point order.
    expect(values).toEqual({ AWS_REGION: 'prod-region', DB_PASSWORD: 'deep-db', SHARED_ONLY: 'shared-only' });
    expect(secrets.reads.sort()).toEqual(['aws/prod/db:DB_PASSWORD', 'aws/prod:AWS_REGION', 'aws/shared:SHARED_ONLY']);
  });

  it("follows the job's environment order on ties, and an exact binding before it", async () => {
    const { orgId, resolver, ids } = await setUp(
      store(),
      { production: ['aws/p*'], staging: ['aws/s*'], pinned: ['aws/shared'] },
      { 'aws/shared': { K: 'shared' }, 'aws/prod': { K: 'prod' } },
    );
    expect(await resolver.resolve(orgId, ids('production', 'staging'), ['K'])).toEqual({ K: 'shared' });
    expect(await resolver.resolve(orgId, ids('staging', 'production'), ['K'])).toEqual({ K: 'prod' });
    expect(await resolver.resolve(orgId, ids('pinned', 'production'), ['K'])).toEqual({ K: 'shared' });
  });

  it('asks nothing when no names are wanted', async () => {
    const { orgId, secrets, resolver, ids } = await setUp(store(), { production: [] }, {});
    expect(await resolver.resolve(orgId, ids('production'), [])).toEqual({});
    expect(secrets.reads).toEqual([]);
  });

  it('names the missing secrets, the environments and their bindings, never a value', async () => {
    const { orgId, resolver, ids, envs } = await setUp(store(), { production: ['aws/**', 'vault:team/**', 'pg:gcp/*'], staging: [] }, { 'aws/prod': { PRESENT: 'sekrit-present-value' }, other: { ELSEWHERE: 'sekrit-elsewhere' } });
    const error = await resolutionError(resolver.resolve(orgId, ids('production', 'staging'), ['PRESENT', 'ELSEWHERE', 'NOWHERE']));
    expect(error.message).toBe(
      `secrets not found in any bound scope: ELSEWHERE, NOWHERE (org ${orgId}; environments: production, staging; bindings searched: production: aws/**; production: pg:gcp/*; production: vault:team/** (no such backend))`,
    );
    expect(error.details).toMatchObject({ missing: ['ELSEWHERE', 'NOWHERE'], environmentIds: [envs.production!.id, envs.staging!.id] });
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain('sekrit');
  });

  it('says when the environments have no bindings at all', async () => {
    const { orgId, resolver, ids } = await setUp(store(), { production: [] }, { aws: { K: 'v' } });
    const error = await resolutionError(resolver.resolve(orgId, ids('production'), ['K']));
    expect(error.message).toContain('environments: production; those environments have no bindings');
  });

  it('refuses KICI_ and malformed names, whatever is stored', async () => {
    const { orgId, resolver, ids } = await setUp(store(), { production: ['**'] }, { aws: { K: 'v' } });
    const error = await resolutionError(resolver.resolve(orgId, ids('production'), ['KICI_RUN_ID', 'K']));
    expect(error.message).toMatch(/^secret names refused: KICI_RUN_ID \(KICI_\* names are run metadata/);
  });

  it('fails, naming the location only, when a winning value cannot be opened', async () => {
    const s = store();
    const { orgId, resolver, ids } = await setUp(s, { production: ['aws/**'] }, {});
    await createDatabaseSecretStore(s.sealedSecrets, { current: OTHER_KEY }, new ManualClock(0)).put(orgId, 'aws/prod', 'K', 'sealed-with-another-key');
    const error = await resolutionError(resolver.resolve(orgId, ids('production'), ['K']));
    expect(error.message).toContain(`secrets K in scope pg:aws/prod could not be read: sealed secret ${orgId}/aws/prod/K could not be opened`);
    expect(error.message).not.toContain('sealed-with-another-key');
  });

  it('takes values from a further backend a binding names, and fails when a reachable backend fails', async () => {
    const s = store();
    const { orgId, ids } = await setUp(s, { production: ['vault:team/**'], staging: ['pg:aws/**'], both: ['**'] }, { 'aws/prod': { K: 'from-pg' } });
    const vault: SecretBackend = {
      name: 'vault',
      listScopes: async () => ['team/app'],
      names: async () => ['V'],
      read: async (_org, _scope, names) => Object.fromEntries(names.map((n) => [n, `vault-${n}`])),
    };
    const broken: SecretBackend = { ...vault, listScopes: async () => Promise.reject(new Error('connection refused (https://vault.example:8200)')) };
    const secrets = counted(s);
    const working = createSecretResolver({ bindings: s.environmentBindings, secrets, scopes: s.sealedSecrets, backends: [vault] });
    expect(await working.resolve(orgId, ids('production', 'staging'), ['V', 'K'])).toEqual({ V: 'vault-V', K: 'from-pg' });

    const failing = createSecretResolver({ bindings: s.environmentBindings, secrets, scopes: s.sealedSecrets, backends: [broken] });
    // Staging's binding is limited to pg: the broken backend is not asked.
    expect(await failing.resolve(orgId, ids('staging'), ['K'])).toEqual({ K: 'from-pg' });
    // A binding for any backend reaches it: its deeper scopes might win, so nothing is answered without it.
    const error = await resolutionError(failing.resolve(orgId, ids('both'), ['K']));
    expect(error.message).toMatch(/^secret backend unavailable, so secrets K cannot be resolved: vault: connection refused/);
    expect(error.details.failedBackends).toEqual([{ backend: 'vault', reason: 'connection refused (https://vault.example:8200)' }]);
  });
});

describe('the resolver without a store', () => {
  it('turns a backend that fails while reading into the same error', async () => {
    const failingSecrets: SecretStore = {
      put: async () => undefined,
      get: async () => Promise.reject(new Error('database unreachable')),
      delete: async () => false,
      names: async () => ['K'],
    };
    const resolver = createSecretResolver({
      bindings: { listForEnvironments: async () => [{ id: 'b1', orgId: 'o', environmentId: 'e1', scopePattern: 'aws', backend: null, createdAt: T0 }] },
      secrets: failingSecrets,
      scopes: { listScopes: async () => [{ scope: 'aws', names: ['K'] }] },
    });
    const error = await resolutionError(resolver.resolve('o', ['e1'], ['K']));
    expect(error.message).toBe('secrets K in scope pg:aws could not be read: database unreachable (org o; environments: e1; bindings searched: e1: aws)');
  });
});
