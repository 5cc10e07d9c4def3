/**
 * Key versions: the number stored next to every sealed value, saying which master key sealed it.
 *
 * A key's version is derived from the key itself (an HMAC of a fixed label under the key, cut to 31
 * bits), never stored or counted: every node computes the same version for the same key without
 * asking anyone, a worker or a joiner needs no database to know it, and two different keys cannot
 * be confused by a restart that forgets which one was "version 2". The HMAC is one-way, so the
 * version says nothing about the key. Two keys collide with odds of 1 in 2^31; the orchestrator
 * refuses a current and old key whose versions collide (in practice: the same key given twice).
 *
 * Version 1 is what every value sealed before rotation existed carries (the key was always
 * "version 1" then). Derived versions are never 1, so such a value is known to come from an
 * unnamed key: it is opened by trying each key, and `rotate-key` re-seals it under the current one.
 */
import { createHmac } from 'node:crypto';

/** The version of every value sealed before versions were derived from the key. */
export const LEGACY_KEY_VERSION = 1;

const LABEL = 'kici master key version';
const FIRST_DERIVED = LEGACY_KEY_VERSION + 1;
/** Fits PostgreSQL's `integer` (the key_version columns). */
const INT4_MAX = 0x7fffffff;

export function keyVersionOf(bytes: Buffer): number {
  const digest = createHmac('sha256', bytes).update(LABEL).digest();
  // 31 bits, then moved off 0 and 1 so a derived version is never taken for a legacy one.
  return FIRST_DERIVED + (digest.readUInt32BE(0) % (INT4_MAX - FIRST_DERIVED + 1));
}

/** Words for a version in a message: legacy values get a reminder of where they come from. */
export function describeKeyVersion(version: number): string {
  return version === LEGACY_KEY_VERSION ? `key version ${version} (sealed before key versions were derived from the key)` : `key version ${version}`;
}
