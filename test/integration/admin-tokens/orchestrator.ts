/**
 * A real orchestrator in this process on PGlite (its data directory) or PostgreSQL (a fresh
 * database), kici-admin pointed at it, and the admin API called with any token.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readLocalOrchestrator } from '../../../src/admin/index.js';
import { loadConfig, startOrchestrator, type Orchestrator } from '../../../src/server/index.js';
import type { DatabaseDriver } from '../../../src/store/index.js';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { cli, type CliResult } from '../admin-surface/cli.js';

export interface Reply {
  status: number;
  body: Record<string, any>;
}

export interface AdminTokenRig {
  orch: Orchestrator;
  /** The first-start token (named `admin`), from the data directory. */
  firstToken: string;
  api(token: string, method: string, path: string, body?: unknown, raw?: string): Promise<Reply>;
  /** kici-admin with `token` (the data directory gives the URL). */
  admin(token: string, argv: string[]): Promise<CliResult>;
  stop(): Promise<void>;
}

export async function startAdminTokenRig(driver: DatabaseDriver): Promise<AdminTokenRig> {
  const tmp = mkdtempSync(path.join(tmpdir(), `kici-admin-tokens-${driver}-`));
  const dataDir = path.join(tmp, 'data');
  const env: Record<string, string> = { KICI_DATA_DIR: dataDir, KICI_PORT: '0', KICI_HOST: '127.0.0.1', KICI_LOG_LEVEL: 'silent' };
  if (driver === 'postgres') env.KICI_DATABASE_URL = await freshDatabaseUrl();
  const orch = await startOrchestrator(loadConfig(env));
  return {
    orch,
    firstToken: readLocalOrchestrator(dataDir).token!,
    async api(token, method, route, body, raw) {
      const res = await fetch(`${orch.url}/api/v1${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : {} };
    },
    admin: (token, argv) => cli(['--data-dir', dataDir, '--token', token, ...argv]),
    async stop() {
      await orch.stop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
