import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { binPath } from './build.js';
import { baseEnv, NodeProcess } from './process.js';
import { waitUntil } from './wait.js';

export interface EdgeWorkerOptions {
  name: string;
  dataDir: string;
  logFile: string;
  /** The coordinators' cluster ports (host:port). */
  coordinators: string[];
  /** A worker join token; used on the first start only. */
  joinToken: string;
  env?: Record<string, string>;
}

/** An edge worker's `/ready` body. */
export interface WorkerReadiness {
  status: number;
  ready: string;
  cluster: string;
  held: { outboxDepth: number; outboxBytes: number; coordinators: string[] };
}

/**
 * One `kici-orchestrator` edge worker (KICI_CLUSTER_ROLE=worker, no database). The first start
 * takes a free port; later starts reuse it so agents find the worker again.
 */
export class EdgeWorkerProcess {
  proc?: NodeProcess;
  private port = 0;
  private joined = false;
  url = '';

  constructor(readonly options: EdgeWorkerOptions) {
    mkdirSync(options.dataDir, { recursive: true });
  }

  get wsUrl(): string {
    return `${this.url.replace(/^http/, 'ws')}/ws`;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** Resolves once it listens; with `connected` (the default) once it reaches a coordinator too. */
  async start({ connected = true } = {}): Promise<void> {
    const urlFile = path.join(this.options.dataDir, 'orchestrator-url');
    rmSync(urlFile, { force: true });
    const proc = new NodeProcess(
      this.options.name,
      binPath('kici-orchestrator'),
      [],
      baseEnv({
        KICI_DATA_DIR: this.options.dataDir,
        KICI_PORT: String(this.port),
        KICI_HOST: '127.0.0.1',
        KICI_LOG_LEVEL: 'info',
        KICI_CLUSTER_ROLE: 'worker',
        KICI_CLUSTER_INSTANCE_ID: this.options.name,
        KICI_CLUSTER_COORDINATOR_URLS: this.options.coordinators.join(','),
        KICI_CLUSTER_JOIN_TOKEN: this.joined ? undefined : this.options.joinToken,
        ...this.options.env,
      }),
      this.options.logFile,
    );
    this.proc = proc;
    this.url = await waitUntil(
      `${this.options.name} to listen${connected ? ' and reach a coordinator' : ''}`,
      async () => {
        if (!proc.running) throw new Error(`${this.options.name} exited:\n${proc.tail()}`);
        if (!existsSync(urlFile)) return undefined;
        const url = readFileSync(urlFile, 'utf8').trim();
        if (!connected) return url;
        return (await fetch(`${url}/ready`)).ok ? url : undefined;
      },
      { timeoutMs: 60_000, describe: () => proc.tail(15) },
    );
    this.port = Number(new URL(this.url).port);
    this.joined = true;
  }

  async readiness(): Promise<WorkerReadiness> {
    const res = await fetch(`${this.url}/ready`);
    const body = (await res.json()) as { status: string; checks: { cluster: string; held: WorkerReadiness['held'] } };
    return { status: res.status, ready: body.status, cluster: body.checks.cluster, held: body.checks.held };
  }

  async metrics(): Promise<string> {
    return (await fetch(`${this.url}/metrics`)).text();
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  async kill9(): Promise<void> {
    await this.proc?.kill9();
  }

  output(): string {
    return this.proc?.output() ?? '';
  }

  tail(lines = 20): string {
    return this.proc?.tail(lines) ?? '';
  }
}
