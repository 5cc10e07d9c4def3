import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { binPath } from './build.js';
import { baseEnv, NodeProcess } from './process.js';
import { waitUntil } from './wait.js';

export interface OrchestratorOptions {
  dataDir: string;
  /** Where process output goes (appended across restarts). */
  logFile: string;
  databaseUrl?: string;
  /** Extra KICI_* settings, e.g. KICI_AGENT_RECOVERY_WINDOW_MS. */
  env?: Record<string, string>;
  /** The admin token, for a node whose data directory holds none (a node that joined a cluster). */
  adminToken?: string;
}

/**
 * One `kici-orchestrator` process on a data directory. The first start takes a free port
 * (KICI_PORT=0); later starts reuse that port so agents and hooks find it again.
 */
export class OrchestratorProcess {
  private proc?: NodeProcess;
  private port = 0;
  url = '';
  adminToken = '';

  constructor(readonly options: OrchestratorOptions) {
    mkdirSync(options.dataDir, { recursive: true });
  }

  get wsUrl(): string {
    return `${this.url.replace(/^http/, 'ws')}/ws`;
  }

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  async start(): Promise<void> {
    if (this.proc?.running) throw new Error('orchestrator already running');
    const urlFile = path.join(this.options.dataDir, 'orchestrator-url');
    // The file is rewritten on each start; removing it first means "ready" is this process's answer.
    rmSync(urlFile, { force: true });
    const proc = new NodeProcess(
      'orchestrator',
      binPath('kici-orchestrator'),
      [],
      baseEnv({
        KICI_DATA_DIR: this.options.dataDir,
        KICI_PORT: String(this.port),
        KICI_HOST: '127.0.0.1',
        KICI_LOG_LEVEL: 'info',
        KICI_DATABASE_URL: this.options.databaseUrl,
        ...this.options.env,
      }),
      this.options.logFile,
    );
    this.proc = proc;
    // A process that exits before it is ready fails the start at once, with what it said.
    const exited = proc.exited.then(() => Promise.reject(new Error(`orchestrator exited before it was ready:\n${proc.tail()}`)));
    exited.catch(() => undefined);
    const ready = waitUntil(
      'the orchestrator to answer /ready',
      async () => {
        if (!proc.running) throw new Error(`orchestrator exited:\n${proc.tail()}`);
        if (!existsSync(urlFile)) return undefined;
        const url = readFileSync(urlFile, 'utf8').trim();
        const res = await fetch(`${url}/ready`);
        return res.ok ? url : undefined;
      },
      { timeoutMs: 60_000, describe: () => proc.tail(15) },
    );
    this.url = await Promise.race([ready, exited]);
    this.port = Number(new URL(this.url).port);
    this.adminToken = this.options.adminToken ?? readFileSync(path.join(this.options.dataDir, 'admin-token'), 'utf8').trim();
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  async kill9(): Promise<void> {
    await this.proc?.kill9();
  }

  tail(lines = 40): string {
    return this.proc?.tail(lines) ?? '';
  }

  /** One admin API call; throws with the API's error body on a non-2xx answer. */
  async api<T>(method: string, route: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${route}: HTTP ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async createAgentToken(name = 'e2e-agent'): Promise<string> {
    return (await this.api<{ token: string }>('POST', '/agent-tokens', { name })).token;
  }
}
