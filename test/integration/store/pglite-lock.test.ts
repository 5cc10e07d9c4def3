import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DatabaseLockedError, openStore } from '../../../src/store/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kici-lock-'));
  dirs.push(dir);
  return dir;
}

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('PGlite lock file', () => {
  it('refuses a second opener while the first holds the directory, and frees it on close', async () => {
    const dataDir = tempDir();
    const first = await openStore({ dataDir });
    const lockPath = join(dataDir, 'pglite.lock');
    expect(readFileSync(lockPath, 'utf8').trim()).toBe(String(process.pid));

    const refused = await openStore({ dataDir }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DatabaseLockedError);
    expect((refused as Error).message).toContain(`process ${process.pid}`);

    await first.close();
    expect(existsSync(lockPath)).toBe(false);
    const again = await openStore({ dataDir });
    await again.close();
  });

  it('refuses a lock held by another live process', async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'pglite.lock'), `${process.ppid}\n`);
    await expect(openStore({ dataDir })).rejects.toBeInstanceOf(DatabaseLockedError);
    expect(readFileSync(join(dataDir, 'pglite.lock'), 'utf8').trim()).toBe(String(process.ppid));
  });

  it('takes over a stale lock whose process is dead', async () => {
    const dataDir = tempDir();
    const pid = deadPid();
    writeFileSync(join(dataDir, 'pglite.lock'), `${pid}\n`);
    const store = await openStore({ dataDir });
    expect(readFileSync(join(dataDir, 'pglite.lock'), 'utf8').trim()).toBe(String(process.pid));
    await store.close();
  });
});
