import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { kiciAdminJson } from './admin.js';
import { startAgent, type AgentOptions } from './agent.js';
import { ensureBuilt } from './build.js';
import { GitRepo } from './git-repo.js';
import { OrchestratorProcess } from './orchestrator.js';
import type { NodeProcess } from './process.js';
import type { DeliveryView, LogLine, RunDetail, RunSummary } from './views.js';
import { waitUntil } from './wait.js';

export interface InstallationOptions {
  databaseUrl?: string;
  /** Extra orchestrator KICI_* settings. */
  env?: Record<string, string>;
}

export interface GitSource {
  id: string;
  orgId: string;
  secret: string;
  repo: GitRepo;
}

const TERMINAL = new Set(['success', 'failed', 'cancelled']);

/**
 * One kici installation for a test file: a temporary directory holding the orchestrator's data
 * directory, agent work directories, git repositories and every process's output.
 */
export class Installation {
  readonly orchestrator: OrchestratorProcess;
  private agentCount = 0;
  private readonly agents: NodeProcess[] = [];
  private repoCount = 0;

  private constructor(readonly dir: string, options: InstallationOptions) {
    this.orchestrator = new OrchestratorProcess({
      dataDir: path.join(dir, 'data'),
      logFile: path.join(dir, 'orchestrator.log'),
      databaseUrl: options.databaseUrl,
      env: { KICI_DISPATCH_ACK_TIMEOUT_MS: '5000', ...options.env },
    });
  }

  static async create(options: InstallationOptions = {}): Promise<Installation> {
    ensureBuilt();
    const inst = new Installation(mkdtempSync(path.join(tmpdir(), 'kici-e2e-')), options);
    await inst.orchestrator.start();
    return inst;
  }

  /** Kill every process and remove the directory (kept when KICI_E2E_KEEP is set, for debugging). */
  async close(): Promise<void> {
    await Promise.all([...this.agents.map((a) => a.kill9()), this.orchestrator.kill9()]);
    if (process.env.KICI_E2E_KEEP) {
      process.stderr.write(`e2e: kept ${this.dir}\n`);
      return;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Start an agent and wait until it has registered (unless `waitRegistered` is false). */
  async startAgent(
    opts: Partial<Omit<AgentOptions, 'token' | 'workDir' | 'logFile'>> & { name?: string; token?: string; waitRegistered?: boolean } = {},
  ): Promise<NodeProcess & { agentName: string }> {
    const n = ++this.agentCount;
    const name = opts.name ?? `agent-${n}`;
    const token = opts.token ?? (await this.orchestrator.createAgentToken(name));
    const logFile = path.join(this.dir, `${name}.log`);
    const before = existsSync(logFile) ? readFileSync(logFile, 'utf8').length : 0;
    const proc = startAgent({
      url: opts.url ?? this.orchestrator.wsUrl,
      token,
      workDir: path.join(this.dir, name),
      logFile,
      labels: opts.labels,
      maxConcurrency: opts.maxConcurrency,
      maxReconnectDelayMs: opts.maxReconnectDelayMs,
      extraEnv: opts.extraEnv,
    });
    this.agents.push(proc);
    if (opts.waitRegistered !== false) {
      await waitUntil(`agent ${name} to register`, () => {
        if (!proc.running) throw new Error(`agent ${name} exited:\n${proc.tail()}`);
        return readFileSync(logFile, 'utf8').slice(before).includes('"msg":"registered with the orchestrator"') ? true : undefined;
      }, { timeoutMs: 30_000, describe: () => proc.tail(10) });
    }
    return Object.assign(proc, { agentName: name });
  }

  /** A fresh origin + working clone, registered as a git source through kici-admin with its hook installed. */
  async gitSource(orgId = 'e2e', defaultBranch = 'main'): Promise<GitSource> {
    const n = ++this.repoCount;
    const repo = new GitRepo(path.join(this.dir, `repo-${n}`));
    const secret = randomBytes(24).toString('hex');
    // The secret goes to kici-admin as @file so it never sits on a command line.
    const secretFile = path.join(this.dir, `repo-${n}.secret`);
    writeFileSync(secretFile, secret, { mode: 0o600 });
    const { url, adminToken } = this.orchestrator;
    const source = await kiciAdminJson<{ id: string }>(url, adminToken, [
      'source', 'add', 'git', '--org', orgId, '--name', `repo-${n}`, '--url', repo.originUrl, '--default-branch', defaultBranch, '--secret', `@${secretFile}`,
    ]);
    await kiciAdminJson(url, adminToken, ['source', 'install-hook', source.id, '--repo', repo.origin, '--secret', `@${secretFile}`]);
    return { id: source.id, orgId, secret, repo };
  }

  async runs(limit = 100): Promise<RunSummary[]> {
    return (await this.orchestrator.api<{ runs: RunSummary[] }>('GET', `/runs?limit=${limit}`)).runs;
  }

  async run(id: string): Promise<RunDetail> {
    return this.orchestrator.api<RunDetail>('GET', `/runs/${id}`);
  }

  /** Runs started by one delivery of a source (the hook's delivery id is `<sourceId>:<ref>:<sha>`). */
  async runsForPush(source: GitSource, sha: string, ref = 'refs/heads/main'): Promise<RunSummary[]> {
    return (await this.runs()).filter((r) => r.deliveryId === `${source.id}:${ref}:${sha}`);
  }

  async eventLog(source: GitSource): Promise<DeliveryView[]> {
    const q = new URLSearchParams({ orgId: source.orgId, sourceId: source.id });
    return (await this.orchestrator.api<{ deliveries: DeliveryView[] }>('GET', `/event-log?${q}`)).deliveries;
  }

  /** Wait until the delivery of a push has been processed (left `received`) and return its row. */
  async processedDelivery(source: GitSource, sha: string, ref = 'refs/heads/main', timeoutMs = 30_000): Promise<DeliveryView> {
    const id = `${source.id}:${ref}:${sha}`;
    return waitUntil(
      `delivery ${id} to be processed`,
      async () => (await this.eventLog(source)).find((d) => d.id === id && d.status !== 'received'),
      { timeoutMs, describe: async () => JSON.stringify((await this.eventLog(source)).map((d) => [d.id, d.status])) },
    );
  }

  /** Wait for the single run of a push to exist. */
  async runForPush(source: GitSource, sha: string, ref = 'refs/heads/main', timeoutMs = 30_000): Promise<RunSummary> {
    return waitUntil(`a run for ${ref} at ${sha.slice(0, 8)}`, async () => (await this.runsForPush(source, sha, ref))[0], {
      timeoutMs,
      describe: async () => `${JSON.stringify(await this.eventLog(source))}\n${this.orchestrator.tail(10)}`,
    });
  }

  async waitForTerminal(runId: string, timeoutMs = 60_000): Promise<RunDetail> {
    return waitUntil(
      `run ${runId} to finish`,
      async () => {
        const run = await this.run(runId);
        return TERMINAL.has(run.status) ? run : undefined;
      },
      { timeoutMs, intervalMs: 250, describe: async () => `${JSON.stringify(await this.run(runId))}\n${this.orchestrator.tail(20)}` },
    );
  }

  async waitForJob(runId: string, name: string, statuses: string[], timeoutMs = 30_000): Promise<RunDetail> {
    return waitUntil(
      `job ${name} of run ${runId} to be ${statuses.join(' or ')}`,
      async () => {
        const run = await this.run(runId);
        return run.jobs.some((j) => j.name === name && statuses.includes(j.status)) ? run : undefined;
      },
      { timeoutMs, describe: async () => JSON.stringify((await this.run(runId)).jobs.map((j) => [j.name, j.status])) },
    );
  }

  /**
   * The run's log lines once every `needle` is in them. Lines can land just after the run is
   * terminal (an agent back from an outage replays final statuses before buffered lines).
   */
  async logsContaining(runId: string, needles: string[], timeoutMs = 15_000): Promise<LogLine[]> {
    return waitUntil(
      `the logs of run ${runId} to contain ${JSON.stringify(needles)}`,
      async () => {
        const lines = await this.logs(runId);
        return needles.every((n) => lines.some((l) => l.text.includes(n))) ? lines : undefined;
      },
      { timeoutMs, describe: async () => (await this.logs(runId)).map((l) => `${l.job}/${l.step}: ${l.text}`).join('\n') },
    );
  }

  /** Every log line of a run, read through the admin API (not following). */
  async logs(runId: string): Promise<LogLine[]> {
    const res = await fetch(`${this.orchestrator.url}/api/v1/runs/${runId}/logs`, {
      headers: { authorization: `Bearer ${this.orchestrator.adminToken}` },
    });
    if (!res.ok) throw new Error(`logs of ${runId}: HTTP ${res.status}`);
    return (await res.text())
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as LogLine);
  }
}
