/**
 * The master key that seals secrets at rest: `KICI_SECRET_KEY` as 64 hex characters or base64 of
 * exactly 32 bytes; without one, a key generated once into `<dataDir>/secret.key` (mode 0600).
 * Errors describe the shape of a bad value, never the value itself.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { keyVersionOf } from './key-version.js';
import { KEY_BYTES, type MasterKey } from './sealing.js';

export class SecretKeyFormatError extends Error {
  constructor(source: string, detail: string) {
    super(`${source} is not a valid secret key: ${detail}; expected 64 hex characters or base64 of exactly 32 bytes`);
    this.name = 'SecretKeyFormatError';
  }
}

/** A rotation set up wrong (never says anything about the keys themselves). */
export class SecretKeyRotationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretKeyRotationError';
  }
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const BASE64_URL = /^[A-Za-z0-9_-]+={0,2}$/;

/**
 * Parse a key given as text; `source` names where it came from (for the error message only). Its
 * version is derived from the key (key-version.ts), so every node agrees on it without asking.
 */
export function parseSecretKey(text: string, source = 'KICI_SECRET_KEY'): MasterKey {
  const value = text.trim();
  if (value === '') throw new SecretKeyFormatError(source, 'it is empty');
  if (HEX_KEY.test(value)) return masterKey(Buffer.from(value, 'hex'));
  if (BASE64.test(value) || BASE64_URL.test(value)) {
    const bytes = Buffer.from(value, BASE64.test(value) ? 'base64' : 'base64url');
    if (bytes.length === KEY_BYTES) return masterKey(bytes);
    return failShape(source, `it decodes to ${bytes.length} bytes`);
  }
  return failShape(source, `it is ${value.length} characters long and neither hex nor base64`);
}

function masterKey(bytes: Buffer): MasterKey {
  return { bytes, version: keyVersionOf(bytes) };
}

function failShape(source: string, detail: string): never {
  throw new SecretKeyFormatError(source, detail);
}

export interface LoadedSecretKey {
  key: MasterKey;
  /** The file the key came from or was written to. */
  path: string;
  /** True when this call generated the key. */
  created: boolean;
}

/**
 * Read `<dataDir>/secret.key`, creating it with a fresh random key (0600) when it does not exist.
 * Creation is exclusive, so two processes starting at once end up with the same key.
 */
export function loadOrCreateSecretKey(dataDir: string): LoadedSecretKey {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'secret.key');
  let created = false;
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(KEY_BYTES).toString('hex')}\n`);
    } finally {
      closeSync(fd);
    }
    created = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // The umask may have widened nothing, but an older file may have been created loosely.
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const key = parseSecretKey(readFileSync(path, 'utf8'), path);
  return { key, path, created };
}

/** The configured key when there is one, otherwise the data directory's (generated on first use). */
export function resolveSecretKey(options: { configured?: string; dataDir: string }): LoadedSecretKey {
  if (options.configured !== undefined && options.configured.trim() !== '') {
    return { key: parseSecretKey(options.configured), path: 'KICI_SECRET_KEY', created: false };
  }
  return loadOrCreateSecretKey(options.dataDir);
}

/**
 * The previous master key during a rotation (`KICI_SECRET_KEY_OLD`), or undefined. Refused when it
 * is the current key again: its values would look current and nothing would ever be re-sealed.
 */
export function resolveOldSecretKey(configured: string | undefined, current: MasterKey): MasterKey | undefined {
  if (configured === undefined || configured.trim() === '') return undefined;
  const old = parseSecretKey(configured, 'KICI_SECRET_KEY_OLD');
  if (old.version === current.version) {
    const why = old.bytes.equals(current.bytes) ? 'is the same key as KICI_SECRET_KEY' : "has the same key version as KICI_SECRET_KEY; generate another new key";
    throw new SecretKeyRotationError(`KICI_SECRET_KEY_OLD ${why} (during a rotation KICI_SECRET_KEY is the new key, KICI_SECRET_KEY_OLD the previous one)`);
  }
  return old;
}
