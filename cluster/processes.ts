/**
 * Real kici processes on loopback, for `npm run cluster` and the cluster benches: coordinators and
 * edge workers (`kici-orchestrator`) and agents (`kici-agent`) started from dist/, each with its
 * output appended to a log file, watched by a `Supervisor` that leaves no process behind: children
 * are SIGKILLed when this process exits, and a small watchdog shell does the same (and runs an
 * extra cleanup line, say stopping PostgreSQL) if this process is itself killed -9.
 *
 * The generic pieces (`LoggedProcess`, `waitUntil`, `freePort`, `baseEnv`, `startWatchdog`, the
 * `ClusterHealth` shape) are the ones the e2e test harness and test/support/postgres.ts build on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs as dist/cluster/processes.js). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function binPath(name: 'kici-orchestrator' | 'kici-agent' | 'kici-admin'): string {
  return path.join(ROOT, 'dist', 'src', 'bin', `${name}.js`);
}

/** One member as `GET /api/v1/cluster/status` lists it (the part the benches and tests read). */
export interface StatusMember {
  node: string;
  standing: string;
  connected: boolean;
  leader: boolean;
  shards: number;
}

/** What `GET /cluster/health` answers. */
export interface ClusterHealth {
  clusterId: string;
  nodeId: string;
  leader: { node: string; address: string } | null;
  term: number;
  commitIndex: number;
  ready: boolean;
  reason: string | null;
  members: { node: string; address: string; role: string; standing: string; connected: boolean; leader: boolean }[];
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `probe` every `intervalMs` until it gives something other than undefined. A probe that
 * throws is tried again until the deadline (a process still starting refuses connections), unless
 * it throws `Fatal`, which ends the wait at once. The timeout error names what was awaited, the
 * error of the last attempt (if it threw) and what `describe` says about the state.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  {
    timeoutMs = 30_000,
    intervalMs = 150,
    describe,
  }: { timeoutMs?: number; intervalMs?: number; describe?: () => Promise<string> | string } = {},
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (e) {
      if (e instanceof Fatal) throw e;
      lastError = e;
    }
    if (performance.now() > deadline) break;
    await sleep(intervalMs);
  }
  let seen = '';
  if (describe) {
    try {
      seen = `; last seen: ${await describe()}`;
    } catch (e) {
      seen = `; could not describe the state: ${(e as Error).message}`;
    }
  }
  const why = lastError ? `; last error: ${(lastError as Error).message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}${seen}`);
}

/** An error `waitUntil` does not retry. */
export class Fatal extends Error {}

const handedOut = new Set<number>();

/** A loopback port nothing listens on now (the OS picks it); never the same one twice per process. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as { port: number };
        server.close(() => resolve(p));
      });
      server.on('error', reject);
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** `preferred` when nothing listens on it, otherwise a free port the OS picks. */
export async function portOr(preferred: number): Promise<number> {
  if (handedOut.has(preferred)) return freePort();
  const free = await new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(preferred, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  if (!free) return freePort();
  handedOut.add(preferred);
  return preferred;
}

/** PATH, HOME and LANG only, plus `extra`: no stray KICI_* variable of ours reaches a child. */
export function baseEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** `value` as one word for `sh`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A detached `sh` that sleeps while this process lives and `guard` (a shell test) holds; if this
 * process is gone and `guard` still holds (it died without its exit handlers: kill -9), it runs
 * `action`. Whoever cleans up in order makes `guard` false first, and the watchdog just ends.
 */
export function startWatchdog(guard: string, action: string): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null && ${guard}; do sleep 1; done; if ${guard}; then ${action}; fi`;
  spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}

/**
 * Keeps the pids of the children it started in `<stateDir>/pids`. When this process exits, every
 * live child is SIGKILLed; a detached watchdog shell SIGKILLs them too, and runs `cleanupShell`, if
 * this process dies without exit handlers (kill -9). `release()` after an orderly stop disarms it.
 */
export class Supervisor {
  private readonly live = new Set<KiciProcess>();
  private readonly exitListeners: ((p: KiciProcess, how: { code: number | null; signal: NodeJS.Signals | null }) => void)[] = [];
  private readonly pidFile: string;
  private released = false;
  private readonly onExit = (): void => this.killAllSync();

  constructor(
    readonly stateDir: string,
    cleanupShell?: string,
  ) {
    mkdirSync(stateDir, { recursive: true });
    this.pidFile = path.join(stateDir, 'pids');
    writeFileSync(this.pidFile, '');
    process.once('exit', this.onExit);
    const pids = shellQuote(this.pidFile);
    startWatchdog(`[ -f ${pids} ]`, `for p in $(cat ${pids}); do kill -9 "$p" 2>/dev/null; done; ${cleanupShell ?? 'true'}`);
  }

  track(p: KiciProcess): void {
    this.live.add(p);
    this.writePids();
    void p.exited.then((how) => {
      this.live.delete(p);
      this.writePids();
      for (const listener of this.exitListeners) listener(p, how);
    });
  }

  /** Called whenever a process it started exits (the chaos harness tells crashes from its own kills). */
  onChildExit(listener: (p: KiciProcess, how: { code: number | null; signal: NodeJS.Signals | null }) => void): void {
    this.exitListeners.push(listener);
  }

  get processes(): KiciProcess[] {
    return [...this.live];
  }

  killAllSync(): void {
    for (const p of this.live) if (p.running) p.child.kill('SIGKILL');
  }

  /** Everything was stopped in order: the watchdog has nothing left to do. */
  release(): void {
    this.released = true;
    process.off('exit', this.onExit);
    rmSync(this.pidFile, { force: true });
  }

  private writePids(): void {
    if (this.released) return;
    try {
      writeFileSync(this.pidFile, [...this.live].map((p) => p.pid).filter((pid) => pid > 0).join('\n'));
    } catch {
      // The state directory is being removed: nothing to guard any more.
    }
  }
}

/**
 * A node program we started, its stdout and stderr appended to `logFile` (so a failure can show
 * what it said), with an `exited` promise and an orderly or a -9 stop.
 */
export class LoggedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    script: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    readonly logFile: string,
    {
      cwd,
      detached = false,
    }: {
      /** Where it runs; defaults that are relative paths (say ./.kici-data) land here. */
      cwd?: string;
      /** A process group of its own: a Ctrl-C in the terminal reaches only the parent, which stops it in order. */
      detached?: boolean;
    } = {},
  ) {
    const fd = openSync(logFile, 'a');
    try {
      this.child = spawn(process.execPath, [script, ...args], { env, cwd, stdio: ['ignore', fd, fd], detached });
    } finally {
      closeSync(fd);
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** kill -9: no shutdown code runs. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** The last `lines` lines the process printed. */
  tail(lines = 20): string {
    return this.logText().split('\n').slice(-lines).join('\n');
  }

  /** Everything in the log file so far (across restarts that share it). */
  protected logText(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }
}

/** One node program started under a `Supervisor`. */
export class KiciProcess extends LoggedProcess {
  constructor(
    name: string,
    script: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    logFile: string,
    supervisor: Supervisor,
    /** A process group of its own: a Ctrl-C in the terminal reaches only the parent, which stops it in order. */
    detached = false,
  ) {
    super(name, script, args, env, logFile, { detached });
    supervisor.track(this);
  }
}

/** What every kici-orchestrator process of a local cluster is started with. */
interface NodeSpec {
  name: string;
  dataDir: string;
  httpPort: number;
  detached?: boolean;
}

/**
 * One `kici-orchestrator` on a data directory, its HTTP port fixed so a restart comes back where
 * agents expect it. The role (coordinator, edge worker) says how it is started and when it is up.
 */
abstract class OrchestratorNode<S extends NodeSpec> {
  proc?: KiciProcess;
  /** Started once: a join token is spent, as a deployment removes it after the first start. */
  protected joined = false;

  constructor(
    readonly spec: S,
    private readonly supervisor: Supervisor,
  ) {
    mkdirSync(spec.dataDir, { recursive: true });
  }

  abstract get logFile(): string;

  /** The environment it is started with: what its role needs, and nothing else. */
  abstract environment(): Record<string, string | undefined>;

  get name(): string {
    return this.spec.name;
  }

  get url(): string {
    return `http://127.0.0.1:${this.spec.httpPort}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.spec.httpPort}/ws`;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  async stop(graceMs?: number): Promise<void> {
    await this.proc?.stop(graceMs);
  }

  async kill9(): Promise<void> {
    await this.proc?.kill9();
  }

  /** Spawn it; resolves once it wrote its URL and `up` holds (polled). */
  protected async launch(what: string, up: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    const urlFile = path.join(this.spec.dataDir, 'orchestrator-url');
    rmSync(urlFile, { force: true });
    const proc = new KiciProcess(this.name, binPath('kici-orchestrator'), [], baseEnv(this.environment()), this.logFile, this.supervisor, this.spec.detached);
    this.proc = proc;
    await waitUntil(
      `${this.name} to ${what}`,
      async () => {
        if (!proc.running) throw new Fatal(`${this.name} exited (${proc.child.exitCode ?? proc.child.signalCode}):\n${proc.tail()}`);
        if (!existsSync(urlFile)) return undefined;
        return (await up()) ? true : undefined;
      },
      { timeoutMs, intervalMs: 50, describe: () => proc.tail() },
    );
    this.joined = true;
  }
}

export interface CoordinatorSpec {
  name: string;
  dataDir: string;
  httpPort: number;
  clusterPort: number;
  /**
   * The port peers are told to dial (KICI_CLUSTER_ADDRESS) when it is not the cluster port itself:
   * a proxy's in front of it, as the chaos harness puts one on every peer link.
   */
  advertisedPort?: number;
  /** The founder's database; a joiner takes its own from the join. */
  databaseUrl?: string;
  /** A joiner's token and the cluster ports it joins through. The token is dropped after the first start. */
  join?: { token: string; peers: string[] };
  /** The admin token, for a joiner (its data directory holds none). */
  adminToken?: string;
  /** More KICI_* settings (Raft timings, log level). */
  env?: Record<string, string>;
  logLevel?: string;
  detached?: boolean;
}

/**
 * One `kici-orchestrator` coordinator on a data directory, its HTTP and cluster ports fixed so a
 * restart comes back where agents and peers expect it.
 */
export class Coordinator extends OrchestratorNode<CoordinatorSpec> {
  adminToken = '';

  /** host:port peers reach this node's cluster port at. */
  get address(): string {
    return `127.0.0.1:${this.spec.advertisedPort ?? this.spec.clusterPort}`;
  }

  get logFile(): string {
    return path.join(this.spec.dataDir, 'orchestrator.log');
  }

  /** The environment it is started with: what a member of a cluster needs, and nothing else. */
  environment(): Record<string, string | undefined> {
    const s = this.spec;
    const join = s.join && !this.joined ? { KICI_CLUSTER_JOIN_TOKEN: s.join.token } : {};
    return {
      KICI_DATA_DIR: s.dataDir,
      KICI_PORT: String(s.httpPort),
      KICI_HOST: '127.0.0.1',
      KICI_LOG_LEVEL: s.logLevel ?? 'info',
      KICI_DATABASE_URL: s.databaseUrl,
      KICI_STORAGE_TYPE: 'database',
      KICI_CLUSTER_INSTANCE_ID: s.name,
      KICI_CLUSTER_PORT: String(s.clusterPort),
      KICI_CLUSTER_ADDRESS: this.address,
      KICI_CLUSTER_PEERS: s.join ? s.join.peers.join(',') : undefined,
      ...join,
      ...s.env,
    };
  }

  /** Starts the process; resolves once it wrote its URL and answers 200 on /ready. */
  async start(timeoutMs = 90_000): Promise<void> {
    await this.launch('answer 200 on /ready', async () => (await this.ready()) === 200, timeoutMs);
    this.adminToken = this.spec.adminToken ?? readFileSync(path.join(this.spec.dataDir, 'admin-token'), 'utf8').trim();
  }

  async health(timeoutMs = 2000): Promise<ClusterHealth> {
    const res = await fetch(`${this.url}/cluster/health`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`${this.name}: /cluster/health answered ${res.status}`);
    return (await res.json()) as ClusterHealth;
  }

  async ready(timeoutMs = 2000): Promise<number> {
    const res = await fetch(`${this.url}/ready`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  }

  /** One admin API call with the admin token; throws with the API's answer on a non-2xx status. */
  async api<T>(method: string, route: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${this.name}: ${method} ${route}: HTTP ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A single-use join token (a coordinator's unless `role` says worker). */
  async joinToken(role: 'coordinator' | 'worker' = 'coordinator'): Promise<string> {
    return (await this.api<{ token: string }>('POST', '/peers/tokens', { role })).token;
  }
}

export interface EdgeWorkerSpec {
  name: string;
  dataDir: string;
  httpPort: number;
  /** The coordinators' cluster ports it dials (host:port). */
  coordinators: string[];
  /** A worker join token, used on the first start only. */
  joinToken: string;
  env?: Record<string, string>;
  logLevel?: string;
  detached?: boolean;
}

/** One `kici-orchestrator` edge worker (KICI_CLUSTER_ROLE=worker): no database, dials the coordinators. */
export class EdgeWorker extends OrchestratorNode<EdgeWorkerSpec> {
  get logFile(): string {
    return path.join(this.spec.dataDir, 'worker.log');
  }

  environment(): Record<string, string | undefined> {
    const s = this.spec;
    return {
      KICI_DATA_DIR: s.dataDir,
      KICI_PORT: String(s.httpPort),
      KICI_HOST: '127.0.0.1',
      KICI_LOG_LEVEL: s.logLevel ?? 'info',
      KICI_CLUSTER_ROLE: 'worker',
      KICI_CLUSTER_INSTANCE_ID: s.name,
      KICI_CLUSTER_COORDINATOR_URLS: s.coordinators.join(','),
      KICI_CLUSTER_JOIN_TOKEN: this.joined ? undefined : s.joinToken,
      ...s.env,
    };
  }

  /**
   * Starts the process; resolves once it listens and (with `connected`, the default) answers 200 on
   * /ready, which it does once it reaches a coordinator.
   */
  async start({ timeoutMs = 90_000, connected = true } = {}): Promise<void> {
    await this.launch(connected ? 'listen and answer 200 on /ready' : 'listen', async () => !connected || (await this.ready()).status === 200, timeoutMs);
  }

  /** `/ready`: 200 while it reaches a coordinator; the body shows what its outbox holds. */
  async ready(timeoutMs = 2000): Promise<{ status: number; body: WorkerReady }> {
    const res = await fetch(`${this.url}/ready`, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: (await res.json()) as WorkerReady };
  }

  /** The agents whose sockets it holds and that registered (its `kici_agents_active`). */
  async agentsConnected(timeoutMs = 2000): Promise<number> {
    const res = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    const found = /^kici_agents_active (\d+)/m.exec(await res.text());
    return found ? Number(found[1]) : 0;
  }
}

/** An edge worker's `/ready` body. */
export interface WorkerReady {
  status: string;
  checks: { cluster: string; held: { outboxDepth: number; outboxBytes: number; coordinators: string[] } };
}

/**
 * The health every one of `nodes` reports once they agree on one leader, are in quorum, count
 * exactly `voters` as voters and (with `connected`) see every member connected; undefined otherwise.
 */
export async function agreement(nodes: Coordinator[], voters: string[], connected = true): Promise<ClusterHealth | undefined> {
  const views = await Promise.all(nodes.map((n) => n.health().catch(() => undefined)));
  const first = views[0];
  const leader = first?.leader?.node;
  if (!leader) return undefined;
  const want = JSON.stringify([...voters].sort());
  for (const v of views) {
    if (!v || v.leader?.node !== leader || !v.ready) return undefined;
    if (JSON.stringify(v.members.filter((m) => m.standing === 'voter').map((m) => m.node).sort()) !== want) return undefined;
    if (connected && v.members.some((m) => !m.connected)) return undefined;
  }
  return first;
}

export function agreedLeader(nodes: Coordinator[], voters: string[], timeoutMs = 60_000): Promise<ClusterHealth> {
  return waitUntil(`${nodes.map((n) => n.name).join(', ')} to agree on a leader with voters ${voters.join(', ')}`, () => agreement(nodes, voters), {
    timeoutMs,
    intervalMs: 100,
  });
}

export interface AgentSpec {
  name: string;
  /** ws://host:port/ws of the coordinator or edge worker it connects to. */
  url: string;
  token: string;
  workDir: string;
  logFile: string;
  /** Labels besides the os/arch ones the agent adds itself. */
  labels?: string[];
  maxConcurrency?: number;
  /** More KICI_AGENT_* settings (say KICI_AGENT_SANDBOX). */
  env?: Record<string, string>;
  detached?: boolean;
}

/** A `kici-agent`; its token travels in the environment, as operators are told to pass it. */
export function startAgent(spec: AgentSpec, supervisor: Supervisor): KiciProcess {
  mkdirSync(spec.workDir, { recursive: true });
  const args = ['--url', spec.url, '--work-dir', spec.workDir, '--agent-id', spec.name];
  if (spec.labels?.length) args.push('--labels', spec.labels.join(','));
  if (spec.maxConcurrency !== undefined) args.push('--max-concurrency', String(spec.maxConcurrency));
  return new KiciProcess(
    spec.name,
    binPath('kici-agent'),
    args,
    baseEnv({ KICI_AGENT_TOKEN: spec.token, KICI_LOG_LEVEL: 'info', KICI_AGENT_MAX_RECONNECT_DELAY_MS: '5000', ...spec.env }),
    spec.logFile,
    supervisor,
    spec.detached,
  );
}
