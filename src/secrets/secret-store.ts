/**
 * Secrets sealed into the database: the PostgreSQL backend. Values are sealed with the current
 * master key on write and opened (current key, then the old one during rotation) on read; the
 * store room only ever sees ciphertext.
 */
import type { Clock } from '../clock/index.js';
import { type NewAuditEvent, type SealedSecretRepository, sourceSecretScope } from '../store/index.js';
import { openersOf } from './live-keys.js';
import { type MasterKey, open, seal } from './sealing.js';

export interface SecretStore {
  /** `audit` (which must never hold the value) is written in the same transaction as the value. */
  put(orgId: string, scope: string, name: string, value: string, audit?: NewAuditEvent): Promise<void>;
  /** null when nothing is stored there; throws SecretOpenError when it cannot be opened. */
  get(orgId: string, scope: string, name: string): Promise<string | null>;
  /** `audit` is written with the deletion, when there was something to delete. */
  delete(orgId: string, scope: string, name: string, audit?: NewAuditEvent): Promise<boolean>;
  /** Names in a scope, never values. */
  names(orgId: string, scope: string): Promise<string[]>;
}

/** Read at each seal and open, never copied: a rotation may change them while the node runs (LiveSecretKeys). */
export interface SecretKeys {
  readonly current: MasterKey;
  /** The previous key while a rotation is in progress. */
  readonly old?: MasterKey;
}

/**
 * Scope holding a source's credentials (`webhookSecret`, `token`). Defined by the store, whose
 * writes in that scope notify `sources_change` so every node drops the credential it cached.
 */
export { sourceSecretScope };

export function createDatabaseSecretStore(sealed: SealedSecretRepository, keys: SecretKeys, clock: Clock): SecretStore {
  return {
    async put(orgId, scope, name, value, audit) {
      await sealed.put({ orgId, scope, key: name }, seal(keys.current, { orgId, scope, name }, value), new Date(clock.now()), audit);
    },
    async get(orgId, scope, name) {
      const value = await sealed.get({ orgId, scope, key: name });
      return value ? open(openersOf(keys), { orgId, scope, name }, value) : null;
    },
    delete: (orgId, scope, name, audit) => sealed.delete({ orgId, scope, key: name }, audit && { event: audit, at: new Date(clock.now()) }),
    names: (orgId, scope) => sealed.listKeys(orgId, scope),
  };
}
