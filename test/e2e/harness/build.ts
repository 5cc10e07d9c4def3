import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/e2e/harness/build.ts). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function binPath(name: 'kici-orchestrator' | 'kici-agent' | 'kici-admin'): string {
  return path.join(ROOT, 'dist', 'src', 'bin', `${name}.js`);
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * `npm test` builds before vitest starts; a single e2e file run on its own builds here when dist is
 * missing or older than src. A directory lock keeps two vitest workers from running tsc at once.
 */
export function ensureBuilt(): void {
  const marker = binPath('kici-orchestrator');
  const fresh = () => existsSync(marker) && statSync(marker).mtimeMs >= newestSource(path.join(ROOT, 'src'));
  if (fresh()) return;
  const lock = path.join(ROOT, 'dist', '.e2e-build.lock');
  mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than any build is left over from a run that was killed mid-build.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 300_000) rmdirSync(lock);
      if (Date.now() > deadline) throw new Error(`e2e: gave up waiting for another build (remove ${lock} if it is stale)`);
      sleepSync(500);
    }
  }
  try {
    if (fresh()) return;
    try {
      execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'pipe' });
    } catch (e) {
      // tsc still emits when another room has type errors; only a missing bin is fatal.
      if (!existsSync(marker)) throw new Error(`e2e: npm run build failed: ${(e as { stdout?: Buffer }).stdout?.toString() ?? e}`);
    }
  } finally {
    rmdirSync(lock);
  }
}
