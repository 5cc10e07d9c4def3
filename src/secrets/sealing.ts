/**
 * Secrets at rest: AES-256-GCM with a fresh random 12-byte IV per seal and a 16-byte tag. The
 * associated data binds a ciphertext to where it is stored (org, scope, key name), so a value
 * copied onto another row fails to open instead of leaking under the wrong name.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;

export interface MasterKey {
  /** 32 bytes. */
  readonly bytes: Buffer;
  /** Recorded next to every sealed value, so rotation can tell old rows from new ones. */
  readonly version: number;
}

export interface SealedSecret {
  ciphertext: Buffer;
  iv: Buffer;
  tag: Buffer;
  keyVersion: number;
}

export interface SecretBinding {
  orgId: string;
  /** e.g. `source/<sourceId>` */
  scope: string;
  /** e.g. `webhookSecret` */
  name: string;
}

/** Thrown for any failure to open; it never says more than which location failed. */
export class SecretOpenError extends Error {
  constructor(binding: SecretBinding) {
    super(
      `sealed secret ${binding.orgId}/${binding.scope}/${binding.name} could not be opened ` +
        '(wrong master key, tampered data, or the value belongs to another location)',
    );
    this.name = 'SecretOpenError';
  }
}

/**
 * JSON of the three parts: unambiguous even when a part contains the separator a plain
 * `org:scope:key` join would use.
 */
function associatedData(binding: SecretBinding): Buffer {
  return Buffer.from(JSON.stringify([binding.orgId, binding.scope, binding.name]), 'utf8');
}

export function seal(key: MasterKey, binding: SecretBinding, plaintext: string): SealedSecret {
  assertKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.bytes, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(binding));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { ciphertext, iv, tag: cipher.getAuthTag(), keyVersion: key.version };
}

/**
 * Open with the first key that works (current key first, then an old one during rotation).
 * Throws SecretOpenError when none does.
 */
export function open(keys: MasterKey | readonly MasterKey[], binding: SecretBinding, sealed: SealedSecret): string {
  const candidates = Array.isArray(keys) ? (keys as readonly MasterKey[]) : [keys as MasterKey];
  if (sealed.iv.length !== IV_BYTES || sealed.tag.length !== TAG_BYTES) throw new SecretOpenError(binding);
  for (const key of candidates) {
    assertKey(key);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.bytes, sealed.iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(binding));
      decipher.setAuthTag(sealed.tag);
      return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
    } catch {
      // Try the next key; the cause is deliberately not kept (it says nothing useful, and nothing secret).
    }
  }
  throw new SecretOpenError(binding);
}

function assertKey(key: MasterKey): void {
  if (key.bytes.length !== KEY_BYTES) throw new Error(`master key must be ${KEY_BYTES} bytes, got ${key.bytes.length}`);
}
