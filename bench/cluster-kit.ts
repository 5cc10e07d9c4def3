/**
 * What the cluster benches (cluster-reown.ts, cluster-dispatch.ts, cluster-worker.ts) share: a rig
 * that owns a temp directory, a `Supervisor` and the throw-away PostgreSQL, and forms clusters of
 * real `kici-orchestrator` processes on it (each on a fresh database); a git repository with a lock
 * file and the signed push webhooks that start runs from it; bench agents on a chosen node; one
 * webhook timed to its `job.dispatch`; numbers read from the environment; nearest-rank percentiles.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { agreement, Coordinator, freePort, sleep, Supervisor, waitUntil, type StatusMember } from '../cluster/processes.js';
import { signBody } from '../src/webhooks/index.js';
import { testPostgres, type TestPostgres } from '../test/support/postgres.js';
import { BenchAgent, type SeenDispatch } from './bench-agent.js';

/** A whole number ≥ `min` from the environment, or `fallback` when unset or empty. */
/**
 * A fresh database on the test server for one bench, committing as production does: the test server
 * runs with fsync and synchronous_commit off server-wide, the bench database has synchronous_commit
 * on (checked, not assumed).
 */
export async function durableBenchDatabase(server: TestPostgres): Promise<string> {
  const url = await server.createDatabase();
  const dbName = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`alter database ${dbName} set synchronous_commit = on`).finally(() => admin.end());
  const check = new pg.Client({ connectionString: url });
  await check.connect();
  const { rows } = await check.query<{ synchronous_commit: string }>('show synchronous_commit').finally(() => check.end());
  if (rows[0]?.synchronous_commit !== 'on') throw new Error(`synchronous_commit is ${rows[0]?.synchronous_commit} on the bench database`);
  return url;
}

/** The databases a bench part runs on, from a comma-separated variable (both by default). */
export function envDrivers(name: string): ('postgres' | 'pglite')[] {
  const drivers = (process.env[name] ?? 'postgres,pglite').split(',').map((d) => d.trim()).filter(Boolean);
  for (const d of drivers) if (d !== 'postgres' && d !== 'pglite') throw new Error(`${name}: unknown driver ${d} (postgres, pglite)`);
  return drivers as ('postgres' | 'pglite')[];
}

export function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}=${raw}: must be a whole number ≥ ${min}`);
  return n;
}

/** Nearest-rank percentile of `values` (p in 0–1); NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export function maxOf(values: readonly number[]): number {
  return values.length ? Math.max(...values) : Number.NaN;
}

/** Milliseconds for a table cell: whole numbers, '-' for none. */
export function ms(v: number, width = 6, digits = 0): string {
  return (Number.isNaN(v) ? '-' : v.toFixed(digits)).padStart(width);
}

/**
 * The cluster timings every cluster bench passes on to its nodes: set in the bench's environment,
 * they reach every node.
 */
const TIMINGS = [
  ['KICI_CLUSTER_RAFT_HEARTBEAT_MS', 50],
  ['KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS', 500],
  ['KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS', 1000],
  ['KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS', 500],
  ['KICI_CLUSTER_PEER_STALE_TIMEOUT_MS', 1500],
] as const;

export type Timing = (typeof TIMINGS)[number][0];

export function clusterTimings(): Record<Timing, number> {
  const out = {} as Record<Timing, number>;
  for (const [name, fallback] of TIMINGS) out[name] = envInt(name, fallback);
  return out;
}

export function describeTimings(t: Record<Timing, number>): string {
  return (
    `heartbeat ${t.KICI_CLUSTER_RAFT_HEARTBEAT_MS} ms, election timeout ${t.KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS}–${t.KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS} ms, ` +
    `peer heartbeat ${t.KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS} ms, peer stale timeout ${t.KICI_CLUSTER_PEER_STALE_TIMEOUT_MS} ms`
  );
}

export function tails(nodes: readonly Coordinator[], lines = 12): string {
  return nodes.map((n) => `--- ${n.name} (${n.logFile}):\n${n.proc?.tail(lines) ?? ''}`).join('\n');
}

export async function shardSpread(node: Coordinator): Promise<Record<string, number>> {
  const status = await node.api<{ members: StatusMember[] }>('GET', '/cluster/status');
  return Object.fromEntries(status.members.map((m) => [m.node, m.shards]));
}

/** A cluster formed by the rig: its nodes (node 0 founded it) and its own database. */
export class BenchCluster {
  readonly pool: pg.Pool;

  constructor(
    readonly nodes: Coordinator[],
    readonly databaseUrl: string,
  ) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    // A node killed -9 or PostgreSQL stopping under an idle client must not crash the bench.
    this.pool.on('error', () => undefined);
  }

  get founder(): Coordinator {
    return this.nodes[0];
  }

  node(name: string): Coordinator {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
    return (await this.pool.query<R>(text, values)).rows;
  }

  /** Every node agrees on one leader, all voters connected; then `settleMs` and the same again. */
  async steady(settleMs = 1000, timeoutMs = 60_000): Promise<string> {
    const names = this.nodes.map((n) => n.name);
    const what = `${names.length} connected voters to agree on a leader`;
    const agreed = () => agreement(this.nodes, names);
    await waitUntil(what, agreed, { timeoutMs, intervalMs: 50, describe: () => tails(this.nodes) });
    if (settleMs > 0) await sleep(settleMs);
    const health = await waitUntil(what, agreed, { timeoutMs, intervalMs: 50, describe: () => tails(this.nodes) });
    return health.leader!.node;
  }

  /** Waits until `from` sees all 256 shards placed, and `accept` likes the spread. */
  shards(accept: (spread: Record<string, number>) => boolean, timeoutMs = 60_000, from = this.founder): Promise<Record<string, number>> {
    return waitUntil(
      'the shards to be placed as wanted',
      async () => {
        const spread = await shardSpread(from);
        const total = Object.values(spread).reduce((a, b) => a + b, 0);
        return total === 256 && accept(spread) ? spread : undefined;
      },
      { timeoutMs, intervalMs: 250, describe: async () => JSON.stringify(await shardSpread(from)) },
    );
  }

  async agent(on: Coordinator, agentId: string, labels: string[], slots: number): Promise<BenchAgent> {
    const { token } = await on.api<{ token: string }>('POST', '/agent-tokens', { name: agentId });
    const agent = new BenchAgent(on.name, on.wsUrl, token, agentId, labels, slots);
    await agent.connect();
    return agent;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop(10_000)));
    await this.pool.end().catch(() => undefined);
  }
}

/**
 * A temp directory, a `Supervisor` (no node outlives the bench, even killed -9) and the worker's
 * throw-away PostgreSQL; clusters formed on it get a database each. `close()` stops everything.
 */
export class BenchRig {
  private readonly clusters: BenchCluster[] = [];
  private readonly onSignal: (signal: NodeJS.Signals) => void;
  private formed = 0;

  private constructor(
    readonly root: string,
    readonly supervisor: Supervisor,
    readonly postgres: TestPostgres,
    private readonly label: string,
  ) {
    this.onSignal = (signal) => {
      this.supervisor.killAllSync();
      rmSync(this.root, { recursive: true, force: true });
      process.stderr.write(`${this.label}: ${signal}, stopped\n`);
      process.exit(130);
    };
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  static async create(label: string): Promise<BenchRig> {
    const root = mkdtempSync(path.join(tmpdir(), `kici-bench-${label}-`));
    chmodSync(root, 0o755);
    const supervisor = new Supervisor(path.join(root, 'run'), `rm -rf '${root}'`);
    return new BenchRig(root, supervisor, await testPostgres(), label);
  }

  /**
   * `count` coordinators on a fresh database: node 1 founds the cluster, the others join it with
   * single-use tokens; resolves once they agree on a leader (node 1: it led alone first).
   */
  async form(prefix: string, count: number, env: Record<string, string>, logLevel = 'info'): Promise<BenchCluster> {
    const databaseUrl = await this.postgres.createDatabase();
    const nodes: Coordinator[] = [];
    const cluster = (this.formed += 1);
    for (let i = 1; i <= count; i++) {
      const name = `${prefix}-${i}`;
      const spec = { name, dataDir: path.join(this.root, `c${cluster}-${name}`), httpPort: await freePort(), clusterPort: await freePort(), env, logLevel };
      nodes.push(new Coordinator(spec, this.supervisor));
    }
    const [founder, ...joiners] = nodes;
    founder.spec.databaseUrl = databaseUrl;
    const c = new BenchCluster(nodes, databaseUrl);
    this.clusters.push(c);
    await founder.start();
    for (const n of joiners) {
      n.spec.join = { token: await founder.joinToken(), peers: [founder.address] };
      n.spec.adminToken = founder.adminToken;
    }
    await Promise.all(joiners.map((n) => n.start()));
    await c.steady(0);
    return c;
  }

  async close(): Promise<void> {
    try {
      await Promise.all(this.clusters.map((c) => c.stop()));
    } finally {
      this.supervisor.release();
      rmSync(this.root, { recursive: true, force: true });
      await this.postgres.stop();
      process.off('SIGINT', this.onSignal);
      process.off('SIGTERM', this.onSignal);
    }
  }
}

/** A git repository under `dir` whose one commit holds `lockfile` as .kici/kici.lock.json. */
export function lockfileRepo(dir: string, lockfile: unknown): { url: string; sha: string } {
  mkdirSync(path.join(dir, '.kici'), { recursive: true });
  writeFileSync(path.join(dir, '.kici', 'kici.lock.json'), JSON.stringify(lockfile));
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' } }).trim();
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'bench');
  return { url: `file://${dir}`, sha: git('rev-parse', 'HEAD') };
}

/**
 * A git source of a cluster, and signed pushes to it through any of its nodes. Each push names a
 * branch of its own at the same commit, so it is never a duplicate and the lock file stays cached.
 */
export class PushSource {
  private deliveries = 0;

  private constructor(
    readonly id: string,
    private readonly secret: string,
    private readonly sha: string,
  ) {}

  static async add(through: Coordinator, repo: { url: string; sha: string }): Promise<PushSource> {
    const secret = randomBytes(16).toString('hex');
    const source = await through.api<{ id: string }>('POST', '/sources', { kind: 'git', orgId: 'bench', name: 'bench', url: repo.url, secret });
    return new PushSource(source.id, secret, repo.sha);
  }

  /** POSTs a push of `branch` to `node` (a coordinator, or an edge worker that forwards it); resolves on its 202. */
  async push(node: WebhookReceiver, branch: string): Promise<void> {
    const body = JSON.stringify({ ref: `refs/heads/${branch}`, before: '0'.repeat(40), after: this.sha, repository: { name: 'bench' } });
    const res = await fetch(`${node.url}/webhook/bench/git/${this.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-delivery-id': `bench-${process.pid}-${this.id}-${++this.deliveries}`, 'x-signature-256': signBody(this.secret, body) },
      body,
      signal: AbortSignal.timeout(30_000),
    });
    if (res.status !== 202) throw new Error(`${node.name}: webhook answered ${res.status}: ${await res.text()}`);
  }
}

/** A node webhooks are posted to: a coordinator, or an edge worker (it forwards them to one). */
export interface WebhookReceiver {
  name: string;
  url: string;
}

const SAMPLE_TIMEOUT_MS = 30_000;
let branchSeq = 0;

/** A branch under `prefix` (one path segment after it) no push used before: never a duplicate delivery. */
export function freshBranch(prefix: string): string {
  return `${prefix}/${process.pid}-${++branchSeq}`;
}

/**
 * One webhook, one dispatch: ms from the POST of a push of a fresh branch under `prefix` to `to`,
 * to `agent` holding its `job.dispatch`; resolves once the node has acknowledged the job's end.
 */
export async function webhookToDispatch(source: PushSource, to: WebhookReceiver, prefix: string, agent: BenchAgent): Promise<number> {
  const b = freshBranch(prefix);
  let timer: NodeJS.Timeout | undefined;
  const seen = new Promise<number>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no job.dispatch for ${b} at ${agent.agentId} within ${SAMPLE_TIMEOUT_MS / 1000} s`)), SAMPLE_TIMEOUT_MS);
    agent.watch((d: SeenDispatch) => {
      if (d.branch === b) resolve(d.at);
    });
  });
  const start = performance.now();
  await source.push(to, b);
  const at = await seen.finally(() => clearTimeout(timer));
  agent.watch(undefined);
  await agent.drained();
  return at - start;
}

/** `xs` in a random order, in place: kinds of sample interleaved so a drift hits each alike. */
export function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}
