/**
 * The request to force a new cluster: `kici-admin cluster recover --force` leaves it in the data
 * directory of a stopped survivor, and the survivor's next start carries it out and removes it.
 * A file, not a flag: the operator's decision is kept until the node has acted on it, even if the
 * first attempt to start fails.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const FORCED_RECOVERY_FILE = 'recover-force';

export function requestForcedRecovery(clusterDir: string, now: Date): string {
  mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  const path = join(clusterDir, FORCED_RECOVERY_FILE);
  writeFileSync(path, `${now.toISOString()}\n`, { mode: 0o600 });
  return path;
}

/** When the recovery was asked for, if it is pending. */
export function pendingForcedRecovery(clusterDir: string): string | undefined {
  const path = join(clusterDir, FORCED_RECOVERY_FILE);
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined;
}

export function forcedRecoveryDone(clusterDir: string): void {
  rmSync(join(clusterDir, FORCED_RECOVERY_FILE), { force: true });
}
