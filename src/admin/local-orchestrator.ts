import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Where a running orchestrator leaves its address and admin token for kici-admin on the same
 * machine: two files in its data directory, the token file readable by its owner only.
 */
export const ADMIN_TOKEN_FILE = 'admin-token';
export const ORCHESTRATOR_URL_FILE = 'orchestrator-url';

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.KICI_DATA_DIR || './.kici-data');
}

export function readLocalOrchestrator(dataDir: string): { url?: string; token?: string } {
  return {
    url: readTrimmed(path.join(dataDir, ORCHESTRATOR_URL_FILE)),
    token: readTrimmed(path.join(dataDir, ADMIN_TOKEN_FILE)),
  };
}

function readTrimmed(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
