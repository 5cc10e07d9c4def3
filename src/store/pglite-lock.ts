/**
 * PGlite is one process's database: two processes opening the same directory would silently
 * diverge. Whoever opens it holds `<dataDir>/pglite.lock` (containing its pid) until it closes.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export class DatabaseLockedError extends Error {
  constructor(
    readonly lockPath: string,
    readonly holderPid: number,
  ) {
    super(
      `the embedded database in ${lockPath.replace(/\/pglite\.lock$/, '')} is in use by process ${holderPid}; ` +
        'stop that process or point KICI_DATA_DIR elsewhere (PGlite allows one process per data directory); ' +
        `if that process is not kici, remove ${lockPath}`,
    );
    this.name = 'DatabaseLockedError';
  }
}

/** Lock files this process holds, so a stale lock left by an earlier process with our pid is recognised. */
const heldHere = new Set<string>();

export interface PgliteLock {
  readonly path: string;
  release(): void;
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): number {
  try {
    return Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
  } catch {
    return Number.NaN;
  }
}

/** Take the lock, taking over a stale one whose pid is dead; throws DatabaseLockedError otherwise. */
export function acquirePgliteLock(dataDir: string): PgliteLock {
  const path = join(dataDir, 'pglite.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // 'wx' fails if the file exists, which makes creation the atomic claim.
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      heldHere.add(path);
      return { path, release: () => releaseIfOurs(path) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readHolder(path);
    const live = holder === process.pid ? heldHere.has(path) : processAlive(holder);
    if (live) throw new DatabaseLockedError(path, holder);
    rmSync(path, { force: true });
  }
  throw new DatabaseLockedError(path, readHolder(path));
}

function releaseIfOurs(path: string): void {
  if (!heldHere.delete(path)) return;
  if (readHolder(path) === process.pid) rmSync(path, { force: true });
}
