import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { ADMIN_TOKEN_FILE } from '../../../src/admin/index.js';
import { loadConfig, startOrchestrator, type Orchestrator, type StartOptions } from '../../../src/server/index.js';
import { signBody } from '../../../src/webhooks/index.js';

/**
 * A real orchestrator in this process (PGlite in a temporary directory), a git origin holding a
 * lock file, and real `ws` agents that speak the protocol by hand, so a test can put frames on the
 * wire that the kici agent would never send.
 */

export type Frame = Record<string, unknown>;

const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
};

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();

/** One workflow, one job, one step: enough to put a job.dispatch on an agent's socket. */
export const ONE_JOB_LOCKFILE = {
  schemaVersion: 1,
  workflows: [{ name: 'ci', triggers: [{ _type: 'push', branches: ['main'] }], jobs: [{ name: 'build', steps: [{ name: 'compile', run: 'true' }] }] }],
};

export class OrchestratorRig {
  private constructor(
    readonly tmp: string,
    readonly orch: Orchestrator,
    readonly adminToken: string,
  ) {}

  static async start(env: Record<string, string> = {}, options: StartOptions = {}): Promise<OrchestratorRig> {
    const tmp = mkdtempSync(path.join(tmpdir(), 'kici-server-it-'));
    const dataDir = path.join(tmp, 'data');
    const orch = await startOrchestrator(
      loadConfig({ KICI_DATA_DIR: dataDir, KICI_PORT: '0', KICI_HOST: '127.0.0.1', KICI_LOG_LEVEL: 'silent', ...env }),
      options,
    );
    return new OrchestratorRig(tmp, orch, readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim());
  }

  get url(): string {
    return this.orch.url;
  }

  async api(method: string, route: string, body?: unknown): Promise<Frame> {
    const res = await fetch(`${this.url}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Frame;
  }

  async agentToken(): Promise<string> {
    return (await this.api('POST', '/agent-tokens', { name: 'it' })).token as string;
  }

  /** A git source whose origin has one commit on main holding `lockfile`. */
  async gitSource(lockfile: unknown = ONE_JOB_LOCKFILE, name = 'repo'): Promise<GitOrigin> {
    const origin = path.join(this.tmp, `${name}-origin.git`);
    const work = path.join(this.tmp, `${name}-work`);
    git(this.tmp, 'init', '--bare', '--quiet', '-b', 'main', origin);
    mkdirSync(path.join(work, '.kici'), { recursive: true });
    git(work, 'init', '--quiet', '-b', 'main');
    writeFileSync(path.join(work, '.kici', 'kici.lock.json'), JSON.stringify(lockfile, null, 2));
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', 'lock file');
    git(work, 'push', '--quiet', origin, 'main');
    const secret = 'git-source-secret-for-it-0001';
    const created = await this.api('POST', '/sources', { kind: 'git', orgId: 'acme', name, url: `file://${origin}`, secret });
    return { id: created.id as string, secret, sha: git(work, 'rev-parse', 'HEAD'), origin, work };
  }

  /**
   * A new commit on main, pushed to the origin (no hook). A delivery of a commit that already has
   * its runs is a duplicate, so a test that wants another run of the source pushes another commit.
   */
  nextCommit(source: GitOrigin): GitOrigin {
    git(source.work, 'commit', '--quiet', '--allow-empty', '-m', 'another push');
    git(source.work, 'push', '--quiet', source.origin, 'main');
    return { ...source, sha: git(source.work, 'rev-parse', 'HEAD') };
  }

  /** Post a signed push delivery for `sha`, as the post-receive hook would. */
  push(source: GitOrigin, deliveryId: string): Promise<Response> {
    const body = JSON.stringify({ ref: 'refs/heads/main', before: '0'.repeat(40), after: source.sha, repository: { name: 'repo', url: 'file:///repo' } });
    return fetch(`${this.url}/webhook/acme/git/${source.id}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-delivery-id': deliveryId, 'x-signature-256': signBody(source.secret, body) },
    });
  }

  async connectAgent(agentId: string, token: string): Promise<RawAgent> {
    const agent = await RawAgent.open(`${this.url.replace(/^http/, 'ws')}/ws`);
    agent.send({ type: 'auth.request', token, protocolVersion: 1 });
    await agent.next('auth.success');
    agent.send({ type: 'agent.register', agentId, labels: ['linux'], platform: 'linux', arch: 'x64', version: '0.1.0', hostname: 'it', maxConcurrency: 1 });
    await agent.next('register.ack');
    return agent;
  }

  async metrics(): Promise<string> {
    return (await fetch(`${this.url}/metrics`)).text();
  }

  async close(): Promise<void> {
    await this.orch.stop();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

export interface GitOrigin {
  id: string;
  secret: string;
  sha: string;
  /** The bare origin and the working copy that pushes to it. */
  origin: string;
  work: string;
}

/** A `ws` client that keeps every frame it receives and lets a test wait for one by type. */
export class RawAgent {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: { type: string; resolve(f: Frame): void }[] = [];
  private seq = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      this.frames.push(frame);
      const matching = this.waiters.filter((x) => x.type === frame.type);
      this.waiters = this.waiters.filter((x) => x.type !== frame.type);
      for (const w of matching) w.resolve(frame);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** `options` are `ws` client options, e.g. `localAddress` to connect from another loopback address. */
  static async open(url: string, options?: WebSocket.ClientOptions): Promise<RawAgent> {
    const ws = new WebSocket(url, options);
    const agent = new RawAgent(ws);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return agent;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: Frame): void {
    if (this.isOpen) this.ws.send(JSON.stringify(frame));
  }

  /** A frame with the envelope the protocol requires of statuses. */
  stamped(frame: Frame): Frame {
    return { messageId: `it-${++this.seq}-${Date.now()}`, timestamp: Date.now(), ...frame };
  }

  /** The first frame of this type (already received or still to come); rejects if the socket closes first. */
  next(type: string, where: (f: Frame) => boolean = () => true): Promise<Frame> {
    const seen = this.frames.find((f) => f.type === type && where(f));
    if (seen) return Promise.resolve(seen);
    return Promise.race([
      new Promise<Frame>((resolve) => {
        const waiter = {
          type,
          resolve: (f: Frame) => {
            if (where(f)) resolve(f);
            else this.waiters.push(waiter);
          },
        };
        this.waiters.push(waiter);
      }),
      this.closed.then((c) => Promise.reject(new Error(`socket closed (${c.code} ${c.reason}) while waiting for ${type}`))),
    ]);
  }

  close(): void {
    this.ws.close(1000);
  }
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One sample's value from a Prometheus exposition; 0 when absent. */
export function sample(exposition: string, name: string, labels = ''): number {
  const line = exposition.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** The HTTP status a WebSocket upgrade gets (101 when it is accepted). */
export function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (e) => reject(e));
  });
}

