import { open, seal, type MasterKey } from '../secrets/index.js';
import { getSealedSecret, putSealedSecret, type Db } from '../store/index.js';

/**
 * Source secrets at rest: sealed with the master key, bound to (org, scope, name) so a row copied
 * elsewhere fails to open. The plaintext exists only in memory, only while it is being used.
 */
export class SecretVault {
  constructor(
    private readonly db: Db,
    private readonly keys: readonly MasterKey[],
  ) {}

  async put(orgId: string, scope: string, name: string, value: string): Promise<void> {
    const sealed = seal(this.keys[0], { orgId, scope, name }, value);
    await putSealedSecret(this.db, { orgId, scope, key: name }, sealed, new Date());
  }

  async get(orgId: string, scope: string, name: string): Promise<string | null> {
    const sealed = await getSealedSecret(this.db, { orgId, scope, key: name });
    return sealed ? open(this.keys, { orgId, scope, name }, sealed) : null;
  }
}

export const sourceScope = (sourceId: string) => `source/${sourceId}`;
