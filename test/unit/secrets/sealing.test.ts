import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type MasterKey, open, seal, type SecretBinding, SecretOpenError } from '../../../src/secrets/index.js';

const key: MasterKey = { bytes: randomBytes(32), version: 3 };
const at: SecretBinding = { orgId: 'org1', scope: 'source/src_abc', name: 'webhookSecret' };
const plaintext = 'hunter2-very-secret-value';

describe('seal/open', () => {
  it('round-trips and records the key version', () => {
    const sealed = seal(key, at, plaintext);
    expect(sealed.iv).toHaveLength(12);
    expect(sealed.tag).toHaveLength(16);
    expect(sealed.keyVersion).toBe(3);
    expect(sealed.ciphertext.toString('utf8')).not.toContain('hunter2');
    expect(open(key, at, sealed)).toBe(plaintext);
  });

  it('uses a fresh IV for every seal', () => {
    const a = seal(key, at, plaintext);
    const b = seal(key, at, plaintext);
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
  });

  it('round-trips empty and non-ASCII values', () => {
    expect(open(key, at, seal(key, at, ''))).toBe('');
    expect(open(key, at, seal(key, at, 'pässwörd ✓'))).toBe('pässwörd ✓');
  });

  it('refuses tampered ciphertext, tag or IV', () => {
    const sealed = seal(key, at, plaintext);
    const flip = (b: Buffer) => {
      const copy = Buffer.from(b);
      copy[0] = copy[0]! ^ 1;
      return copy;
    };
    expect(() => open(key, at, { ...sealed, ciphertext: flip(sealed.ciphertext) })).toThrow(SecretOpenError);
    expect(() => open(key, at, { ...sealed, tag: flip(sealed.tag) })).toThrow(SecretOpenError);
    expect(() => open(key, at, { ...sealed, iv: flip(sealed.iv) })).toThrow(SecretOpenError);
    expect(() => open(key, at, { ...sealed, tag: sealed.tag.subarray(0, 8) })).toThrow(SecretOpenError);
  });

  it('refuses a value moved to another org, scope or key name', () => {
    const sealed = seal(key, at, plaintext);
    expect(() => open(key, { ...at, orgId: 'org2' }, sealed)).toThrow(SecretOpenError);
    expect(() => open(key, { ...at, scope: 'source/src_other' }, sealed)).toThrow(SecretOpenError);
    expect(() => open(key, { ...at, name: 'token' }, sealed)).toThrow(SecretOpenError);
  });

  it('does not confuse bindings whose parts contain separators', () => {
    const sealed = seal(key, { orgId: 'a:b', scope: 'c', name: 'd' }, plaintext);
    expect(() => open(key, { orgId: 'a', scope: 'b:c', name: 'd' }, sealed)).toThrow(SecretOpenError);
  });

  it('refuses the wrong key, and falls back to an old key during rotation', () => {
    const oldKey: MasterKey = { bytes: randomBytes(32), version: 2 };
    const sealed = seal(oldKey, at, plaintext);
    expect(() => open(key, at, sealed)).toThrow(SecretOpenError);
    expect(open([key, oldKey], at, sealed)).toBe(plaintext);
  });

  it('never puts the plaintext in the error', () => {
    const sealed = seal(key, at, plaintext);
    try {
      open(key, { ...at, name: 'other' }, sealed);
      expect.unreachable();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(plaintext);
      expect((error as Error).message).toContain('org1/source/src_abc/other');
    }
  });
});
