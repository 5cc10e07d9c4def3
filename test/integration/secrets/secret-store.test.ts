import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import {
  createDatabaseSecretStore,
  type MasterKey,
  SecretOpenError,
  sourceSecretScope,
} from '../../../src/secrets/index.js';
import { describeOnBothDrivers, uniqueOrg } from '../../support/store-drivers.js';

const oldKey: MasterKey = { bytes: randomBytes(32), version: 1 };
const newKey: MasterKey = { bytes: randomBytes(32), version: 2 };

describeOnBothDrivers('database secret store', (store) => {
  it('seals on put, opens on get, lists names only', async () => {
    const orgId = uniqueOrg();
    const scope = sourceSecretScope('src_abc');
    const secrets = createDatabaseSecretStore(store().sealedSecrets, { current: newKey }, new ManualClock(1_700_000_000_000));
    await secrets.put(orgId, scope, 'webhookSecret', 'whsec-123');
    expect(await secrets.get(orgId, scope, 'webhookSecret')).toBe('whsec-123');
    expect(await secrets.get(orgId, scope, 'token')).toBeNull();
    expect(await secrets.names(orgId, scope)).toEqual(['webhookSecret']);
    const raw = await store().sealedSecrets.get({ orgId, scope, key: 'webhookSecret' });
    expect(raw?.keyVersion).toBe(2);
    expect(raw?.ciphertext.toString('utf8')).not.toContain('whsec-123');
    expect(await secrets.delete(orgId, scope, 'webhookSecret')).toBe(true);
    expect(await secrets.get(orgId, scope, 'webhookSecret')).toBeNull();
  });

  it('reads values sealed with the old key during a rotation, and refuses moved rows', async () => {
    const orgId = uniqueOrg();
    const scope = sourceSecretScope('src_rot');
    const clock = new ManualClock(0);
    await createDatabaseSecretStore(store().sealedSecrets, { current: oldKey }, clock).put(orgId, scope, 'token', 'ghp_old');
    const rotated = createDatabaseSecretStore(store().sealedSecrets, { current: newKey, old: oldKey }, clock);
    expect(await rotated.get(orgId, scope, 'token')).toBe('ghp_old');
    await expect(createDatabaseSecretStore(store().sealedSecrets, { current: newKey }, clock).get(orgId, scope, 'token')).rejects.toBeInstanceOf(
      SecretOpenError,
    );

    // Copy the sealed bytes onto another row: they must not open there.
    const sealed = await store().sealedSecrets.get({ orgId, scope, key: 'token' });
    await store().sealedSecrets.put({ orgId, scope, key: 'webhookSecret' }, sealed!, new Date(0));
    const error = await rotated.get(orgId, scope, 'webhookSecret').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretOpenError);
    expect(String(error)).not.toContain('ghp_old');
  });
});
