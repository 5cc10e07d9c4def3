import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  loadOrCreateSecretKey,
  parseSecretKey,
  resolveSecretKey,
  SecretKeyFormatError,
} from '../../../src/secrets/index.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kici-key-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('parseSecretKey', () => {
  const raw = randomBytes(32);

  it('accepts 64 hex characters', () => {
    expect(parseSecretKey(raw.toString('hex')).bytes.equals(raw)).toBe(true);
  });

  it('accepts base64 and base64url of 32 bytes, trimming whitespace', () => {
    expect(parseSecretKey(`${raw.toString('base64')}\n`).bytes.equals(raw)).toBe(true);
    expect(parseSecretKey(raw.toString('base64url')).bytes.equals(raw)).toBe(true);
  });

  it('refuses wrong lengths without echoing the value', () => {
    const cases = [
      'deadbeef'.repeat(7), // 56 hex chars: base64 of 42 bytes
      randomBytes(16).toString('base64'),
      randomBytes(48).toString('base64'),
      'not a key at all!!',
    ];
    for (const value of cases) {
      const error = errorOf(() => parseSecretKey(value));
      expect(error).toBeInstanceOf(SecretKeyFormatError);
      expect(error.message).toContain('KICI_SECRET_KEY');
      expect(error.message).not.toContain(value);
      expect(error.message).not.toContain(value.slice(0, 8));
    }
  });

  it('refuses an empty value', () => {
    expect(() => parseSecretKey('  ')).toThrow(/empty/);
  });
});

describe('loadOrCreateSecretKey', () => {
  it('generates a 0600 key once and reads the same key afterwards', () => {
    const dir = tempDir();
    const first = loadOrCreateSecretKey(dir);
    expect(first.created).toBe(true);
    expect(first.key.bytes).toHaveLength(32);
    expect(statSync(first.path).mode & 0o777).toBe(0o600);
    const second = loadOrCreateSecretKey(dir);
    expect(second.created).toBe(false);
    expect(second.key.bytes.equals(first.key.bytes)).toBe(true);
  });

  it('refuses a corrupt key file without printing its content', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'secret.key'), 'abc123secretish', { mode: 0o600 });
    const error = errorOf(() => loadOrCreateSecretKey(dir));
    expect(error).toBeInstanceOf(SecretKeyFormatError);
    expect(error.message).not.toContain('abc123secretish');
  });

  it('prefers a configured key and leaves the data directory alone', () => {
    const dir = tempDir();
    const raw = randomBytes(32);
    const loaded = resolveSecretKey({ configured: raw.toString('hex'), dataDir: dir });
    expect(loaded.key.bytes.equals(raw)).toBe(true);
    expect(() => readFileSync(join(dir, 'secret.key'))).toThrow();
    expect(resolveSecretKey({ dataDir: dir }).created).toBe(true);
  });
});
