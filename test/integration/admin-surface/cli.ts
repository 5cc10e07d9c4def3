import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect, vi } from 'vitest';
import { runAdmin } from '../../../src/admin/index.js';
import { loadConfig, startOrchestrator, type Orchestrator, type StartOptions } from '../../../src/server/index.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** kici-admin in this process, as the binary would run it, with what it prints captured. */
export async function cli(argv: string[], options: { stdin?: string } = {}): Promise<CliResult> {
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  });
  const realStdin = Object.getOwnPropertyDescriptor(process, 'stdin');
  if (options.stdin !== undefined) {
    Object.defineProperty(process, 'stdin', { value: Readable.from([Buffer.from(options.stdin)]), configurable: true });
  }
  try {
    return { code: await runAdmin(argv), out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    if (options.stdin !== undefined && realStdin) Object.defineProperty(process, 'stdin', realStdin);
  }
}

export interface TestOrchestrator {
  orch: Orchestrator;
  tmp: string;
  /** kici-admin pointed at this orchestrator through its data directory. */
  admin(argv: string[], options?: { stdin?: string }): Promise<CliResult>;
  /** Same, expecting success and JSON output. */
  adminJson<T = Record<string, unknown>>(argv: string[], options?: { stdin?: string }): Promise<T>;
  stop(): Promise<void>;
}

/** `env`: more settings for the orchestrator (e.g. `KICI_GITHUB_API_URL`). */
export async function startTestOrchestrator(prefix: string, options: StartOptions = {}, env: Record<string, string> = {}): Promise<TestOrchestrator> {
  const tmp = mkdtempSync(path.join(tmpdir(), prefix));
  const dataDir = path.join(tmp, 'data');
  const orch = await startOrchestrator(loadConfig({ KICI_DATA_DIR: dataDir, KICI_PORT: '0', KICI_HOST: '127.0.0.1', KICI_LOG_LEVEL: 'silent', ...env }), options);
  const admin = (argv: string[], options?: { stdin?: string }) => cli(['--data-dir', dataDir, ...argv], options);
  return {
    orch,
    tmp,
    admin,
    async adminJson<T>(argv: string[], options?: { stdin?: string }) {
      const r = await admin(['--json', ...argv], options);
      if (r.code !== 0) throw new Error(`kici-admin ${argv.join(' ')} exited ${r.code}: ${r.err}`);
      return JSON.parse(r.out) as T;
    },
    async stop() {
      await orch.stop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** POST one delivery to a generic source's webhook route. */
export async function deliver(
  orch: Orchestrator,
  orgId: string,
  sourceId: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown>; retryAfter: string | null }> {
  const res = await fetch(`${orch.url}/webhook/${orgId}/generic/${sourceId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, retryAfter: res.headers.get('retry-after') };
}

/**
 * kici-admin against `orchestrator()` with everything it prints kept in `printed`, so a test can
 * check at the end that no secret was ever shown; `json` parses `--json` output of a call that must
 * succeed quietly.
 */
export function printingCli(orchestrator: () => TestOrchestrator) {
  const printed: string[] = [];
  const admin = async (argv: string[], options?: { stdin?: string }): Promise<CliResult> => {
    const r = await orchestrator().admin(argv, options);
    printed.push(r.out, r.err);
    return r;
  };
  const adminJson = async <T = Record<string, unknown>>(argv: string[], options?: { stdin?: string }): Promise<T> => {
    const r = await admin(['--json', ...argv], options);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.out) as T;
  };
  return { printed, admin, adminJson };
}
