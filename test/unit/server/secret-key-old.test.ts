/**
 * KICI_SECRET_KEY_OLD / KICI_SECRET_KEY_FILE_OLD (a master-key rotation): read like the current
 * key, never both forms, errors name the variable and never the value; and a joined coordinator
 * may be given a new KICI_SECRET_KEY with the joined key as KICI_SECRET_KEY_OLD (a rotation under
 * way), or alone once the database shows the cluster uses it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configuredKeyProblem, sharedSettings, type JoinedNode } from '../../../src/server/cluster-start.js';
import { loadConfig } from '../../../src/server/index.js';
import { orchestratorVariable } from '../../../src/server/variables.js';
import { problemsOf } from './config-problems.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kici-old-key-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hex = () => randomBytes(32).toString('hex');

describe('KICI_SECRET_KEY_OLD', () => {
  it('is read, from the variable or a file', () => {
    const old = hex();
    expect(orchestratorVariable('KICI_SECRET_KEY_OLD')?.handling).toBe('read');
    expect(orchestratorVariable('KICI_SECRET_KEY_FILE_OLD')?.handling).toBe('read');
    expect(loadConfig({ KICI_SECRET_KEY_OLD: old }).secretKeyOld).toBe(old);
    const file = path.join(dir, 'old.key');
    writeFileSync(file, `${old}\n`);
    expect(loadConfig({ KICI_SECRET_KEY_FILE_OLD: file }).secretKeyOld).toBe(old);
    expect(loadConfig({}).secretKeyOld).toBeUndefined();
  });

  it('refuses both forms at once, and names an unreadable file without any content', () => {
    const old = hex();
    expect(problemsOf({ KICI_SECRET_KEY_OLD: old, KICI_SECRET_KEY_FILE_OLD: '/nonexistent/old' })).toContain('KICI_SECRET_KEY_FILE_OLD: set either KICI_SECRET_KEY_OLD or KICI_SECRET_KEY_FILE_OLD, not both');
    expect(problemsOf({ KICI_SECRET_KEY_FILE_OLD: '/nonexistent/old' })).toEqual(['KICI_SECRET_KEY_FILE_OLD: cannot read /nonexistent/old (ENOENT)']);
  });
});

describe('a joined coordinator during a rotation', () => {
  const joinedKey = hex();
  const joined = { secrets: { databaseUrl: 'postgres://db/kici', secretKey: joinedKey, caKey: 'ca' } } as unknown as JoinedNode;
  const base = { KICI_STORAGE_TYPE: 'database' };

  it('keeps the joined key when none is configured', () => {
    expect(sharedSettings(loadConfig(base), joined)).toEqual({ databaseUrl: 'postgres://db/kici', secretKey: joinedKey });
  });

  it('takes a new KICI_SECRET_KEY when KICI_SECRET_KEY_OLD is the joined key', () => {
    const next = hex();
    expect(sharedSettings(loadConfig({ ...base, KICI_SECRET_KEY: next, KICI_SECRET_KEY_OLD: Buffer.from(joinedKey, 'hex').toString('base64') }), joined)).toEqual({
      databaseUrl: 'postgres://db/kici',
      secretKey: next,
      secretKeyOld: joinedKey,
    });
  });

  it('takes another key without the joined one as the old key only once the database shows the cluster uses it', () => {
    const next = hex();
    const settings = sharedSettings(loadConfig({ ...base, KICI_SECRET_KEY: next }), joined);
    expect(settings).toEqual({ databaseUrl: 'postgres://db/kici', secretKey: next, keyNeedsDatabase: true });
    // After a finished rotation every value carries the new key's version: accepted.
    expect(configuredKeyProblem([7, 42], [42])).toBeUndefined();
    // No sealed value under any of this node's keys (an empty cluster, or a mistyped key): refused, naming no key.
    const problem = configuredKeyProblem([], [42])!;
    expect(problem).toContain("KICI_SECRET_KEY: differs from the cluster's master key this node was handed when it joined");
    expect(problem).toContain('set KICI_SECRET_KEY_OLD to the joined key');
    expect(problem).not.toContain(next);
    expect(problem).not.toContain(joinedKey);
    expect(configuredKeyProblem([7], [42, 43])).toBe(problem);
  });

  it('reads with the old key a node joining during a rotation was handed', () => {
    const old = hex();
    const during = { secrets: { ...joined.secrets, oldSecretKey: old } } as unknown as JoinedNode;
    expect(sharedSettings(loadConfig(base), during)).toEqual({ databaseUrl: 'postgres://db/kici', secretKey: joinedKey, secretKeyOld: old });
  });

  it('refuses to go back to the old key a rotation handed this node a newer one for, naming versions only', () => {
    const old = hex();
    const handed = { secrets: { ...joined.secrets, oldSecretKey: old } } as unknown as JoinedNode;
    let problem = '';
    try {
      sharedSettings(loadConfig({ ...base, KICI_SECRET_KEY: old }), handed);
    } catch (e) {
      problem = String((e as { problems?: string[] }).problems ?? (e as Error).message);
    }
    expect(problem).toContain('KICI_SECRET_KEY: is the previous master key');
    expect(problem).toContain('Unset KICI_SECRET_KEY and KICI_SECRET_KEY_OLD');
    expect(problem.includes(old) || problem.includes(joinedKey)).toBe(false);
  });
});
