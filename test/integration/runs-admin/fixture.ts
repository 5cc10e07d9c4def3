import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_TOKEN_FILE, AdminApi } from '../../../src/admin/index.js';
import { startAgent, type RunningAgent } from '../../../src/agent/index.js';
import { loadConfig, startOrchestrator, type Orchestrator, type StartOptions } from '../../../src/server/index.js';
import { cli, type CliResult } from '../admin-surface/cli.js';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'kici test',
  GIT_AUTHOR_EMAIL: 'test@kici.invalid',
  GIT_COMMITTER_NAME: 'kici test',
  GIT_COMMITTER_EMAIL: 'test@kici.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

/** A bare origin the orchestrator mirrors, and a work tree to commit lock files in. */
export class Repo {
  readonly origin: string;
  readonly work: string;

  constructor(dir: string) {
    this.origin = path.join(dir, 'origin.git');
    this.work = path.join(dir, 'work');
    this.git(dir, 'init', '-q', '--bare', '-b', 'main', this.origin);
    this.git(dir, 'init', '-q', '-b', 'main', this.work);
    this.git(this.work, 'remote', 'add', 'origin', this.origin);
  }

  git(cwd: string, ...args: string[]): string {
    return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Commit a lock file on the current branch and push it; returns the sha. */
  pushLockfile(lockfile: unknown, branch = 'main'): string {
    mkdirSync(path.join(this.work, '.kici'), { recursive: true });
    writeFileSync(path.join(this.work, '.kici', 'kici.lock.json'), `${JSON.stringify(lockfile, null, 2)}\n`);
    this.git(this.work, 'add', '-A');
    this.git(this.work, 'commit', '-q', '--allow-empty', '-m', 'lock file');
    this.git(this.work, 'push', '-q', 'origin', `HEAD:refs/heads/${branch}`);
    return this.git(this.work, 'rev-parse', 'HEAD').trim();
  }
}

export interface RunJob {
  id: string;
  name: string;
  status: string;
  error: string | null;
  outputs: Record<string, string>;
  steps: { index: number; status: string }[];
  /** Why a job that has not started waits (at its environments' gates, or for an agent). */
  waiting?: string;
}

export interface RunDetail {
  id: string;
  status: string;
  attempt: number;
  workflow: string;
  branch: string | null;
  sha: string | null;
  error: string | null;
  jobs: RunJob[];
}

/** A real orchestrator on PGlite in this process, with kici-admin pointed at it. */
export class Installation {
  orch!: Orchestrator;
  api!: AdminApi;
  readonly dataDir: string;
  readonly repo: Repo;
  private agents: RunningAgent[] = [];

  constructor(readonly tmp: string) {
    this.dataDir = path.join(tmp, 'data');
    this.repo = new Repo(tmp);
  }

  /** `env`: more orchestrator settings (e.g. `KICI_GITHUB_API_URL`), kept for restarts; `options`: e.g. an injected clock. */
  static async start(prefix: string, env: Record<string, string> = {}, options: StartOptions = {}): Promise<Installation> {
    const inst = new Installation(mkdtempSync(path.join(tmpdir(), prefix)));
    inst.env = env;
    inst.options = options;
    await inst.startOrchestrator();
    return inst;
  }

  private env: Record<string, string> = {};
  private options: StartOptions = {};

  async startOrchestrator(): Promise<void> {
    this.orch = await startOrchestrator(
      loadConfig({ KICI_DATA_DIR: this.dataDir, KICI_PORT: '0', KICI_HOST: '127.0.0.1', KICI_LOG_LEVEL: 'silent', ...this.env }),
      this.options,
    );
    this.api = new AdminApi(this.orch.url, readFileSync(path.join(this.dataDir, ADMIN_TOKEN_FILE), 'utf8').trim());
  }

  admin(argv: string[]): Promise<CliResult> {
    return cli(['--data-dir', this.dataDir, ...argv]);
  }

  async adminJson<T>(argv: string[]): Promise<T> {
    const r = await this.admin([...argv, '--json']);
    if (r.code !== 0) throw new Error(`kici-admin ${argv.join(' ')} exited ${r.code}: ${r.err}`);
    return JSON.parse(r.out) as T;
  }

  async addSource(name = 'app'): Promise<string> {
    const s = await this.api.call<{ id: string }>('POST', '/sources', {
      kind: 'git',
      orgId: 'acme',
      name,
      url: `file://${this.repo.origin}`,
      secret: 'a-webhook-secret-for-tests',
    });
    return s.id;
  }

  async startAgent(): Promise<RunningAgent> {
    const { token } = await this.api.call<{ token: string }>('POST', '/agent-tokens', { name: `agent-${this.agents.length}` });
    const agent = startAgent({
      url: `${this.orch.url.replace(/^http/, 'ws')}/ws`,
      token,
      workDir: path.join(this.tmp, `agent-${this.agents.length}`),
      maxConcurrency: 4,
    });
    this.agents.push(agent);
    return agent;
  }

  run(id: string): Promise<RunDetail> {
    return this.api.call<RunDetail>('GET', `/runs/${id}`);
  }

  /** Poll a run until `done` holds for it. */
  async waitFor(id: string, done: (run: RunDetail) => boolean, what = 'the run', timeoutMs = 30_000): Promise<RunDetail> {
    const deadline = Date.now() + timeoutMs;
    let last: RunDetail | undefined;
    while (Date.now() < deadline) {
      last = await this.run(id);
      if (done(last)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}; last seen ${JSON.stringify(last)}`);
  }

  /** Poll a run's logs until they contain `text`. */
  async waitForLog(id: string, text: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await (await this.api.raw('GET', `/runs/${id}/logs`)).text()).includes(text)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${JSON.stringify(text)} in the logs of run ${id}`);
  }

  waitForEnd(id: string): Promise<RunDetail> {
    return this.waitFor(id, (r) => ['success', 'failed', 'cancelled'].includes(r.status), `run ${id} to finish`);
  }

  async stop(): Promise<void> {
    for (const agent of this.agents) await agent.shutdown({ force: true, settleMs: 500 }).catch(() => undefined);
    await this.orch?.stop();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

export const isTerminal = (s: string) => ['success', 'failed', 'cancelled'].includes(s);
