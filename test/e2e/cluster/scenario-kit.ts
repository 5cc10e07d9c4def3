/**
 * What the cluster scenarios of issue 12 share (cluster-shard-owner-killed, cluster-partition-webhooks,
 * cluster-join-under-load, cluster-delivery-orphaned): agents whose steps may write the chaos
 * journal, signed git deliveries posted straight to a chosen node, the shard spread as the admin API
 * reports it, metrics, and a git server on loopback that a test can make hang.
 */
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { readDatabaseView, type DatabaseView } from '../../../chaos/index.js';
import type { StatusMember } from '../../../cluster/processes.js';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { afterAll, beforeAll } from 'vitest';
import { clusterRoot, formCluster, killAll, startAgent, waitUntil, type ClusterMember, type GitRepo, type NodeProcess } from '../harness/index.js';

export const TERMINAL = new Set(['success', 'failed', 'cancelled']);
const ZERO_SHA = '0'.repeat(40);

export interface ClusterStatus {
  nodeId: string;
  leader: { node: string } | null;
  ready: boolean;
  members: StatusMember[];
}

/** `GET /api/v1/cluster/status` (what `kici-admin cluster status --json` prints). */
export function clusterStatus(m: ClusterMember): Promise<ClusterStatus> {
  return m.process.api<ClusterStatus>('GET', '/cluster/status');
}

/** node → shards the replicated map gives it, as `m` sees it. */
export async function shardSpread(m: ClusterMember): Promise<Record<string, number>> {
  return Object.fromEntries((await clusterStatus(m)).members.map((x) => [x.node, x.shards]));
}

/** What a scenario's tests share: its directory, the journal its steps append to, the flag they wait on. */
export interface EvenScenario {
  root: string;
  journal: string;
  /** Steps that wait on it loop until it exists. */
  flag: string;
  databaseUrl: string;
  members: ClusterMember[];
}

/**
 * The frame of a cluster scenario, as vitest hooks: three coordinators with their shards spread
 * evenly before the tests; after them the flag is set (a failed test leaves no step loop burning
 * the machine) and every process is killed. Call it inside `describe`.
 */
export function evenScenario(): EvenScenario {
  const root = clusterRoot();
  const scenario: EvenScenario = { root, journal: path.join(root, 'journal.ndjson'), flag: path.join(root, 'let-the-jobs-finish'), databaseUrl: '', members: [] };
  beforeAll(async () => {
    Object.assign(scenario, await evenCluster(root));
  }, 120_000);
  afterAll(async () => {
    writeFileSync(scenario.flag, '');
    await killAll();
  });
  return scenario;
}

/**
 * Three coordinators on a fresh PostgreSQL, once their shards are spread evenly; no git reconcile,
 * so every run is one the test made (rebalancing stays on).
 */
export async function evenCluster(root: string): Promise<{ databaseUrl: string; members: ClusterMember[] }> {
  const databaseUrl = await freshDatabaseUrl();
  const members = await formCluster(root, databaseUrl, undefined, { KICI_GIT_RECONCILE_INTERVAL_MS: '3600000' });
  await evenShards(members[0]!, ['node-a', 'node-b', 'node-c'], databaseUrl);
  return { databaseUrl, members };
}

/**
 * Waits until `m` sees exactly `nodes` sharing the 256 shards evenly (within one of each other;
 * rebalancing moves them gradually) and the database's fence rows agree with it.
 */
export async function evenShards(m: ClusterMember, nodes: string[], databaseUrl: string, timeoutMs = 60_000): Promise<Record<string, number>> {
  return waitUntil(
    `the shards to be spread evenly over ${nodes.join(', ')}`,
    async () => {
      const spread = await shardSpread(m);
      const counts = nodes.map((n) => spread[n] ?? 0);
      const total = Object.values(spread).reduce((a, b) => a + b, 0);
      if (total !== 256 || Math.max(...counts) - Math.min(...counts) > 1 || counts.reduce((a, b) => a + b, 0) !== 256) return undefined;
      const rows = (await readDatabaseView(databaseUrl)).shards;
      const inDb: Record<string, number> = {};
      for (const r of rows) inDb[r.ownerNode] = (inDb[r.ownerNode] ?? 0) + 1;
      return nodes.every((n) => inDb[n] === spread[n]) ? spread : undefined;
    },
    { timeoutMs, intervalMs: 250, describe: async () => JSON.stringify(await shardSpread(m)) },
  );
}

/** One sample of a Prometheus counter or gauge without labels on a member (0 when absent). */
export async function metric(m: ClusterMember, name: string): Promise<number> {
  const text = await (await fetch(`${m.url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text)?.[1] ?? 0);
}

/**
 * An agent on `on`'s socket, with a token made through `tokenFrom`; unsandboxed so journalled
 * steps can append to the host's journal file. Resolves once it has registered.
 */
export async function journalAgent(root: string, tokenFrom: ClusterMember, on: ClusterMember, name: string, options: { labels?: string[]; maxConcurrency?: number } = {}): Promise<NodeProcess> {
  const token = (await tokenFrom.process.api<{ token: string }>('POST', '/agent-tokens', { name })).token;
  const workDir = path.join(root, name);
  mkdirSync(workDir, { recursive: true });
  const agent = startAgent({
    url: `${on.url.replace(/^http/, 'ws')}/ws`,
    token,
    workDir,
    labels: options.labels,
    maxConcurrency: options.maxConcurrency,
    logFile: path.join(root, `${name}.log`),
    maxReconnectDelayMs: 1000,
    extraEnv: { KICI_AGENT_SANDBOX: 'none' },
  });
  await waitUntil(`${name} to register with ${on.name}`, () => {
    if (!agent.running) throw new Error(`${name} exited:\n${agent.tail()}`);
    return existsSync(agent.logFile) && readFileSync(agent.logFile, 'utf8').includes('registered with the orchestrator') ? true : undefined;
  });
  return agent;
}

export interface SignedSource {
  id: string;
  orgId: string;
  secret: string;
}

/** The delivery id the kici post-receive hook gives a push: `<sourceId>:<ref>:<after>`. */
export function pushDeliveryId(source: SignedSource, branch: string, sha: string): string {
  return `${source.id}:refs/heads/${branch}:${sha}`;
}

/**
 * Posts the delivery the post-receive hook would post for a push of `branch` to `sha` (a new
 * branch: `before` is the zero id), signed with the source's secret, to one node (a member, an edge worker).
 */
export async function postPush(m: { url: string }, source: SignedSource, branch: string, sha: string, before = ZERO_SHA): Promise<{ status: number; deliveryId: string; body: unknown; retryAfter: string | null }> {
  const body = JSON.stringify({ ref: `refs/heads/${branch}`, before, after: sha, repository: { name: 'origin', url: 'file:///origin.git' } });
  const signature = `sha256=${createHmac('sha256', source.secret).update(body).digest('hex')}`;
  const deliveryId = pushDeliveryId(source, branch, sha);
  const send = () =>
    fetch(`${m.url}/webhook/${encodeURIComponent(source.orgId)}/git/${encodeURIComponent(source.id)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-delivery-id': deliveryId, 'x-signature-256': signature },
      body,
    });
  // As a webhook sender does: a connection the server closed under the request (a kept-alive
  // socket it timed out at that moment) is tried again; the delivery id makes a repeat harmless.
  const res = await send().catch((e: Error & { cause?: { code?: string } }) => {
    if (e.cause?.code !== 'UND_ERR_SOCKET') throw e;
    return send();
  });
  return { status: res.status, deliveryId, body: await res.json(), retryAfter: res.headers.get('retry-after') };
}

/** A commit of its own on a new branch `branch` (from main), pushed to origin; returns its sha. */
export function pushBranch(repo: GitRepo, branch: string): string {
  repo.checkout('main');
  repo.checkout(branch, true);
  const sha = repo.commit({}, `work on ${branch}`);
  repo.git(repo.work, 'push', '-q', 'origin', branch);
  repo.checkout('main');
  return sha;
}

/** Waits until every run is terminal and no delivery is left `received`; returns the last view. */
export async function settled(databaseUrl: string, what: string, options: { runs?: number; timeoutMs?: number } = {}): Promise<DatabaseView> {
  return waitUntil(
    what,
    async () => {
      const view = await readDatabaseView(databaseUrl);
      if (options.runs !== undefined && view.runs.length < options.runs) return undefined;
      if (view.deliveries.some((d) => d.status === 'received')) return undefined;
      return view.runs.every((r) => TERMINAL.has(r.status)) ? view : undefined;
    },
    {
      timeoutMs: options.timeoutMs ?? 60_000,
      intervalMs: 250,
      describe: async () => {
        const view = await readDatabaseView(databaseUrl);
        const runs = view.runs.filter((r) => !TERMINAL.has(r.status)).map((r) => `${r.id} ${r.status} shard ${r.shard} jobs ${view.jobs.filter((j) => j.runId === r.id).map((j) => `${j.status}/${j.agentId}/${j.dispatchAttempts}`).join(',')}`);
        const deliveries = view.deliveries.filter((d) => d.status === 'received').map((d) => d.deliveryId);
        return `${view.runs.length} runs; unfinished: ${runs.join('; ') || 'none'}; deliveries left received: ${deliveries.join(', ') || 'none'}`;
      },
    },
  );
}

/**
 * A git repository served over git's "dumb" HTTP protocol (plain files) from a bare repository on
 * loopback. `hold()` makes every request wait, unanswered, until `release()`: a fetch from it
 * hangs exactly as long as the test wants, which is how a test pins a node inside its fetch of a
 * lock file. Run `refresh()` after each push (git update-server-info), as a dumb server needs.
 */
export class DumbGitServer {
  private server?: Server;
  private holding = false;
  private parked: (() => void)[] = [];
  /** Requests that had to wait, in all (answered or not). */
  heldRequests = 0;
  readonly requests: string[] = [];

  constructor(private readonly repo: GitRepo) {}

  async start(): Promise<void> {
    this.refresh();
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', () => resolve());
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/origin.git`;
  }

  refresh(): void {
    this.repo.git(this.repo.origin, 'update-server-info');
  }

  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const serve of this.parked.splice(0)) serve();
  }

  async stop(): Promise<void> {
    this.release();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(req.url ?? '');
    const serve = () => void this.serve(req, res).catch(() => res.destroy());
    if (!this.holding) return serve();
    this.heldRequests++;
    this.parked.push(serve);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const prefix = '/origin.git/';
    const rel = pathname.startsWith(prefix) ? pathname.slice(prefix.length) : '';
    if (!rel || rel.split('/').includes('..') || req.method !== 'GET') {
      res.writeHead(404).end();
      return;
    }
    const file = path.join(this.repo.origin, rel);
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    // text/plain for info/refs: git then speaks the dumb protocol, file by file.
    res.writeHead(200, { 'content-type': rel === 'info/refs' ? 'text/plain' : 'application/octet-stream', 'content-length': data.length }).end(data);
  }
}
