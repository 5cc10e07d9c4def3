import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StepSandbox } from './step-sandbox.js';

const PROBE_TIMEOUT_MS = 15_000;

/**
 * Run `true` the way a step would run, with the same mounts (hidden paths included), so what is
 * reported at start is what steps will get: missing user namespaces, an `env` too old for
 * --ignore-signal, a hidden path bwrap cannot mask all show up here and not in the first job.
 */
export function probeSandbox(sandbox: StepSandbox, hostEnv: NodeJS.ProcessEnv): { ok: true } | { ok: false; reason: string } {
  const root = mkdtempSync(join(tmpdir(), 'kici-sandbox-probe-'));
  try {
    const checkoutDir = join(root, 'checkout');
    const homeDir = join(root, 'home');
    mkdirSync(checkoutDir);
    mkdirSync(homeDir);
    const env: Record<string, string> = {};
    for (const name of ['PATH', 'HOME', 'TMPDIR'] as const) if (hostEnv[name] !== undefined) env[name] = hostEnv[name] as string;
    const wrapped = sandbox.wrap({ argv: ['true'], env, cwd: checkoutDir, checkoutDir, homeDir, readOnlyFiles: [], writableFiles: [] });
    const result = spawnSync(wrapped.argv[0] ?? '', wrapped.argv.slice(1), {
      env: wrapped.env,
      cwd: checkoutDir,
      encoding: 'utf8',
      timeout: PROBE_TIMEOUT_MS,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (result.error) return { ok: false, reason: result.error.message };
    if (result.status === 0) return { ok: true };
    const said = result.stderr.trim().split('\n').slice(0, 3).join(' / ').slice(0, 400);
    return { ok: false, reason: said || `exit code ${result.status ?? result.signal}` };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
