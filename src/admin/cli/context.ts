import type { Command } from 'commander';
import { defaultDataDir, readLocalOrchestrator } from '../local-orchestrator.js';
import { AdminApi } from './api-client.js';
import { UsageError } from './secret-input.js';

/** Global options shared by every command: where the orchestrator is and how to print. */
export interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
  dataDir?: string;
}

/**
 * The program's own options (given before the command name), plus `--json` after it. Not
 * optsWithGlobals(): it lets a command's option of the same name stand in for the program's, so
 * `source add git --url <repository>` was taken for the orchestrator's URL.
 */
export function globals(cmd: Command): GlobalOptions {
  let root = cmd;
  while (root.parent) root = root.parent;
  const top = root.opts() as GlobalOptions;
  return { ...top, json: top.json === true || cmd.opts().json === true };
}

/**
 * Resolve the orchestrator: flags, then KICI_ADMIN_URL / KICI_ADMIN_TOKEN, then the files a local
 * orchestrator leaves in its data directory.
 */
export function apiFor(cmd: Command): AdminApi {
  const g = globals(cmd);
  const local = readLocalOrchestrator(g.dataDir ?? defaultDataDir());
  const url = g.url ?? process.env.KICI_ADMIN_URL ?? local.url;
  const token = g.token ?? process.env.KICI_ADMIN_TOKEN ?? local.token;
  if (!url) throw new UsageError('no orchestrator URL: pass --url, set KICI_ADMIN_URL, or run on the orchestrator machine');
  if (!token) throw new UsageError('no admin token: pass --token or set KICI_ADMIN_TOKEN');
  return new AdminApi(url, token);
}
