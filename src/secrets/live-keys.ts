/**
 * The node's master keys as a holder that can change while the node runs: a rotation started on
 * another coordinator hands this node the new key (and the old one) over the peer links, and every
 * reader must see it at once, without a restart. Readers hold the holder, never a key taken from
 * it, and ask for `current`/`old` at each seal or open.
 */
import { timingSafeEqual } from 'node:crypto';
import type { MasterKey } from './sealing.js';
import type { SecretKeys } from './secret-store.js';

export class LiveSecretKeys implements SecretKeys {
  #current: MasterKey;
  #old: MasterKey | undefined;

  constructor(current: MasterKey, old?: MasterKey) {
    this.#current = current;
    this.#old = old;
  }

  get current(): MasterKey {
    return this.#current;
  }

  get old(): MasterKey | undefined {
    return this.#old;
  }

  /** A rotation reached this node: seal with `current` from now on, still open with `old`. */
  install(current: MasterKey, old: MasterKey | undefined): void {
    this.#current = current;
    this.#old = old !== undefined && sameKey(old, current) ? undefined : old;
  }

  /** The rotation finished: nothing is sealed with the old key any more. True when there was one. */
  dropOld(): boolean {
    const had = this.#old !== undefined;
    this.#old = undefined;
    return had;
  }
}

/** The keys a reader tries, current first; read at call time so a handed-over key counts at once. */
export function openersOf(keys: SecretKeys): MasterKey[] {
  return keys.old ? [keys.current, keys.old] : [keys.current];
}

/** Constant-time comparison of two keys' bytes (keys are never compared with `===` on text). */
export function sameKey(a: MasterKey, b: MasterKey): boolean {
  return a.bytes.length === b.bytes.length && timingSafeEqual(a.bytes, b.bytes);
}
