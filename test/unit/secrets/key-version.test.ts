/**
 * Key versions derived from the key (key-version.ts), the old key of a rotation, and reading and
 * writing with both keys: new values carry the current key's version only.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyVersionOf, LEGACY_KEY_VERSION, open, parseSecretKey, resolveOldSecretKey, seal, SecretKeyRotationError } from '../../../src/secrets/index.js';

const binding = { orgId: 'acme', scope: 'source/src_1', name: 'webhookSecret' };

describe('keyVersionOf', () => {
  it('is the same for the same key, whatever its spelling, and differs between keys', () => {
    const raw = randomBytes(32);
    const hex = parseSecretKey(raw.toString('hex'));
    expect(parseSecretKey(raw.toString('base64')).version).toBe(hex.version);
    expect(parseSecretKey(raw.toString('base64url')).version).toBe(hex.version);
    expect(keyVersionOf(raw)).toBe(hex.version);
    const versions = new Set(Array.from({ length: 200 }, () => keyVersionOf(randomBytes(32))));
    expect(versions.size).toBe(200);
  });

  it('is never the legacy version 1, and fits an integer column', () => {
    for (let i = 0; i < 500; i++) {
      const v = keyVersionOf(randomBytes(32));
      expect(v).toBeGreaterThan(LEGACY_KEY_VERSION);
      expect(v).toBeLessThanOrEqual(0x7fffffff);
    }
  });

  it('says nothing of the key: a key differing in one bit gets an unrelated version', () => {
    const raw = randomBytes(32);
    const flipped = Buffer.from(raw);
    flipped[0] ^= 1;
    expect(keyVersionOf(flipped)).not.toBe(keyVersionOf(raw));
  });
});

describe('resolveOldSecretKey', () => {
  const current = parseSecretKey(randomBytes(32).toString('hex'));

  it('is absent when not set', () => {
    expect(resolveOldSecretKey(undefined, current)).toBeUndefined();
    expect(resolveOldSecretKey('  ', current)).toBeUndefined();
  });

  it('parses the previous key with its own version', () => {
    const raw = randomBytes(32);
    const old = resolveOldSecretKey(raw.toString('base64'), current)!;
    expect(old.bytes.equals(raw)).toBe(true);
    expect(old.version).toBe(keyVersionOf(raw));
    expect(old.version).not.toBe(current.version);
  });

  it('refuses the current key given again, without showing it', () => {
    const text = current.bytes.toString('hex');
    let error: unknown;
    try {
      resolveOldSecretKey(text, current);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SecretKeyRotationError);
    expect((error as Error).message).toMatch(/KICI_SECRET_KEY_OLD is the same key as KICI_SECRET_KEY/);
    expect((error as Error).message).not.toContain(text);
  });

  it('names the variable, never the value, for a malformed key', () => {
    expect(() => resolveOldSecretKey('not-a-key!', current)).toThrow(/^KICI_SECRET_KEY_OLD is not a valid secret key/);
  });
});

describe('sealing during a rotation', () => {
  const oldKey = parseSecretKey(randomBytes(32).toString('hex'));
  const newKey = parseSecretKey(randomBytes(32).toString('hex'));

  it('opens values of either key, seals with the current one, and re-seals an old value to the new version', () => {
    const before = seal(oldKey, binding, 'hook-secret-value');
    expect(before.keyVersion).toBe(oldKey.version);
    expect(open([newKey, oldKey], binding, before)).toBe('hook-secret-value');
    const after = seal(newKey, binding, open([newKey, oldKey], binding, before));
    expect(after.keyVersion).toBe(newKey.version);
    expect(open(newKey, binding, after)).toBe('hook-secret-value');
    expect(() => open(oldKey, binding, after)).toThrow(/could not be opened/);
  });
});
