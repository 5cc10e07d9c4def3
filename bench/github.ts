/**
 * `npm run bench -- github` (issue 18's figures): GitHub App webhooks into one orchestrator, on
 * PostgreSQL and on PGlite. The orchestrator runs in this process with a GitHub source added
 * through the admin API and `KICI_GITHUB_API_URL` pointing at the GitHub API stand-in
 * (test/support/github-standin.ts); the stand-in and the webhook sender run in a child process
 * (github-load.ts), so this process's CPU time is the orchestrator's. Every webhook is a signed
 * `push` to `main` (about 5 KB, as GitHub sends) at a commit whose lock file the stand-in serves;
 * its workflow matches, so each delivery creates a run whose one job queues (no agent is
 * connected: dispatch is `-- dispatch`'s subject, not this one's). Printed per driver:
 * - ingest: webhooks accepted per second with `inFlight` in flight, each at a fresh commit (as real
 *   pushes are, so each one's lock file is a cache miss read over HTTP), reply p50/p99; then how
 *   fast the orchestrator decided them (read the lock file, matched, created the run), from the
 *   rows' own timestamps, and its CPU (and PostgreSQL's) per 1000 webhooks;
 * - the lock-file cache, end to end: webhooks one at a time, alternating a commit whose lock file
 *   is already cached (a hit) and a fresh one (a miss), timed from accepted to decided
 *   (`received_at` → `processed_at` on the delivery row, whole milliseconds); the replies of these
 *   idle webhooks give the idle reply latency;
 * and once, the reader itself: `GitHubAppPool.get(…).lockfile(…)`, the call behind the deliveries
 * room's GitHub port when it reads a lock file (`readAt`), timed in this process for a hit (the
 * client's LRU) and a miss (the contents API on the stand-in over loopback HTTP, the installation
 * token already cached). What GitHub was asked meanwhile (lock files, check runs, tokens) is
 * counted at the stand-in and printed under the tables.
 *
 * Sizes (environment; the defaults take about 25 s on two cores):
 *   KICI_BENCH_GITHUB_DRIVERS     postgres,pglite
 *   KICI_BENCH_GITHUB_WEBHOOKS    1000  ingest webhooks (after 20 to warm up)
 *   KICI_BENCH_GITHUB_IN_FLIGHT   50
 *   KICI_BENCH_GITHUB_CACHE       100   webhooks of each kind (hit, miss) one at a time
 *   KICI_BENCH_GITHUB_READS       300   direct reads of each kind
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_TOKEN_FILE, AdminApi } from '../src/admin/index.js';
import { GitHubAppPool } from '../src/github/index.js';
import { loadConfig, startOrchestrator, type Orchestrator } from '../src/server/index.js';
import type { DeliveryRecord, Store } from '../src/store/index.js';
import { testPostgres, type TestPostgres } from '../test/support/postgres.js';
import { durableBenchDatabase, envDrivers, envInt, percentile } from './cluster-kit.js';
import { BenchChild } from './child-process.js';
import { cpuSeconds, describeStatuses, PostgresCpu } from './dispatch.js';
import type { GithubApp, GithubLoadRequest, GithubRequests, GithubStarted, PushesResult, Webhooks } from './github-load.js';

const ORG = 'bench';
const APP: GithubApp = { appId: 31337, installationId: 77, repo: 'bench/app' };
const WARMUP = 20;
const LOCKFILE = JSON.stringify({
  schemaVersion: 1,
  workflows: [
    {
      name: 'gh-bench',
      triggers: [{ _type: 'push', branches: ['main'] }],
      jobs: [{ name: 'build', checkout: false, steps: [{ run: 'true' }] }],
    },
  ],
});

interface Sizes {
  drivers: ('postgres' | 'pglite')[];
  webhooks: number;
  inFlight: number;
  cache: number;
  reads: number;
}

function sizes(): Sizes {
  return {
    drivers: envDrivers('KICI_BENCH_GITHUB_DRIVERS'),
    webhooks: envInt('KICI_BENCH_GITHUB_WEBHOOKS', 1000),
    inFlight: envInt('KICI_BENCH_GITHUB_IN_FLIGHT', 50),
    cache: envInt('KICI_BENCH_GITHUB_CACHE', 100),
    reads: envInt('KICI_BENCH_GITHUB_READS', 300),
  };
}

/** The child process: GitHub (the stand-in) and the webhook sender. */
class OutsideWorld extends BenchChild<GithubLoadRequest> {
  constructor() {
    super('./github-load.js', 'github load process');
  }

  requests(): Promise<GithubRequests> {
    return this.call<GithubRequests>({ op: 'requests' });
  }

  /** `count` fresh commits, each with the lock file at the stand-in. */
  async commits(count: number): Promise<string[]> {
    const shas = Array.from({ length: count }, () => randomBytes(20).toString('hex'));
    await this.call({ op: 'files', repo: APP.repo, shas, lockfile: LOCKFILE });
    return shas;
  }
}

interface Target {
  orchestrator: Orchestrator;
  store: Store;
  hooks: Webhooks;
  dir: string;
}

async function setUp(databaseUrl: string | undefined, github: GithubStarted): Promise<Target> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kici-bench-github-'));
  const env: Record<string, string> = {
    KICI_DATA_DIR: path.join(dir, 'data'),
    KICI_PORT: '0',
    KICI_HOST: '127.0.0.1',
    KICI_LOG_LEVEL: 'silent',
    KICI_GITHUB_API_URL: github.url,
  };
  if (databaseUrl) env.KICI_DATABASE_URL = databaseUrl;
  const orchestrator = await startOrchestrator(loadConfig(env));
  const api = new AdminApi(orchestrator.url, readFileSync(path.join(env.KICI_DATA_DIR, ADMIN_TOKEN_FILE), 'utf8').trim());
  const secret = randomBytes(16).toString('hex');
  await api.call('POST', '/sources', { kind: 'github', orgId: ORG, name: ORG, appId: APP.appId, privateKey: github.privateKey, webhookSecret: secret });
  return { orchestrator, store: orchestrator.store, hooks: { url: `${orchestrator.url}/webhook/${ORG}/github`, secret, app: APP }, dir };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Until none of the org's deliveries is `received` (one query every 100 ms). */
async function allDecided(store: Store, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (((await store.deliveries.countByStatus(ORG)).received ?? 0) > 0) {
    if (performance.now() > deadline) throw new Error(`deliveries still received after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** One delivery, once it has left `received` (polled every 2 ms: one small read, nothing else runs). */
async function decided(store: Store, deliveryId: string, timeoutMs = 30_000): Promise<DeliveryRecord> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const d = await store.deliveries.get(ORG, deliveryId);
    if (d && d.status !== 'received') return d;
    if (performance.now() > deadline) throw new Error(`delivery ${deliveryId} still ${d?.status ?? 'missing'} after ${timeoutMs} ms${d?.error ? ` (${d.error})` : ''}`);
    await sleep(2);
  }
}

/** The org's deliveries by id (every one: the bench's org holds only the bench's). */
async function deliveriesById(store: Store): Promise<Map<string, DeliveryRecord>> {
  const rows = await store.deliveries.list({ orgId: ORG, limit: 1_000_000 });
  return new Map(rows.map((d) => [d.deliveryId, d]));
}

function minus(a: GithubRequests, b: GithubRequests): GithubRequests {
  return { contents: a.contents - b.contents, checkRuns: a.checkRuns - b.checkRuns, tokens: a.tokens - b.tokens, total: a.total - b.total };
}

function describeRequests(r: GithubRequests): string {
  const other = r.total - r.contents - r.checkRuns - r.tokens;
  return `${r.total} requests: ${r.contents} lock-file reads, ${r.checkRuns} check-run writes, ${r.tokens} token mints, ${other} other`;
}

const f = (v: number, digits = 1) => (Number.isNaN(v) ? '-' : v.toFixed(digits));
const pair = (xs: number[], digits = 1) => `${f(percentile(xs, 0.5), digits)} / ${f(percentile(xs, 0.99), digits)}`;

interface DriverFigures {
  name: string;
  acceptedPerSecond: number;
  replyMs: number[];
  decidedPerSecond: number;
  cpuPer1000: number;
  pgCpuPer1000?: number;
  idleReplyMs: number[];
  hitMs: number[];
  missMs: number[];
  notes: string[];
}

async function benchDriver(name: string, url: string | undefined, pgCpu: PostgresCpu | undefined, world: OutsideWorld, github: GithubStarted, s: Sizes): Promise<DriverFigures> {
  const t = await setUp(url, github);
  const notes: string[] = [];
  try {
    // Warm up: the installation token, the parsed lock file, the statements prepared.
    await world.call<PushesResult>({ op: 'pushes', hooks: t.hooks, shas: await world.commits(WARMUP), inFlight: 1 });
    await allDecided(t.store, 60_000);

    // Ingest: every webhook at a fresh commit, `inFlight` at a time.
    const shas = await world.commits(s.webhooks);
    const asked0 = await world.requests();
    const cpu0 = cpuSeconds();
    const pg0 = pgCpu?.seconds();
    const ingest = await world.call<PushesResult>({ op: 'pushes', hooks: t.hooks, shas, inFlight: s.inFlight });
    await allDecided(t.store, 120_000 + s.webhooks * 200);
    const cpu = cpuSeconds() - cpu0;
    const pgSeconds = pgCpu ? pgCpu.seconds() - pg0! : undefined;
    const asked = minus(await world.requests(), asked0);
    const rows = await deliveriesById(t.store);
    const batch = ingest.deliveryIds.map((id) => rows.get(id)).filter((d): d is DeliveryRecord => d !== undefined);
    const firstReceived = Math.min(...batch.map((d) => d.receivedAt.getTime()));
    const lastDecided = Math.max(...batch.map((d) => d.processedAt?.getTime() ?? Number.NaN));
    const outcomes = new Map<string, number>();
    for (const d of batch) outcomes.set(d.status, (outcomes.get(d.status) ?? 0) + 1);
    const matched = batch.reduce((n, d) => n + d.matchedCount, 0);
    const runs = await t.store.runs.list({ orgId: ORG, limit: 1_000_000 });
    const ingestIds = new Set(ingest.deliveryIds);
    const ingestRuns = runs.filter((r) => r.deliveryId !== null && ingestIds.has(r.deliveryId));
    notes.push(
      `${name}: ingest deliveries ${describeStatuses(outcomes)} (${batch.length} of ${s.webhooks} recorded), ${matched} workflows matched, ` +
        `${ingestRuns.length} runs created; GitHub asked ${describeRequests(asked)} meanwhile`,
    );

    // The lock-file cache, end to end: hit and miss alternating, one webhook at a time.
    const [hot] = await world.commits(1);
    const primed = await world.call<PushesResult>({ op: 'pushes', hooks: t.hooks, shas: [hot!], inFlight: 1 });
    await decided(t.store, primed.deliveryIds[0]!);
    const fresh = await world.commits(s.cache);
    const hitMs: number[] = [];
    const missMs: number[] = [];
    const idleReplyMs: number[] = [];
    const cacheAsked0 = await world.requests();
    for (let i = 0; i < s.cache * 2; i++) {
      const hit = i % 2 === 0;
      const sent = await world.call<PushesResult>({ op: 'pushes', hooks: t.hooks, shas: [hit ? hot! : fresh[i >> 1]!], inFlight: 1 });
      idleReplyMs.push(sent.replyMs[0]!);
      const d = await decided(t.store, sent.deliveryIds[0]!);
      if (d.status !== 'processed') throw new Error(`delivery ${d.deliveryId} ended ${d.status}${d.error ? `: ${d.error}` : ''}`);
      (hit ? hitMs : missMs).push(d.processedAt!.getTime() - d.receivedAt.getTime());
    }
    const cacheAsked = minus(await world.requests(), cacheAsked0);
    notes.push(`${name}: cache part ${s.cache} hits and ${s.cache} misses; GitHub asked ${describeRequests(cacheAsked)} (lock files: ${s.cache} expected)`);

    return {
      name,
      acceptedPerSecond: (s.webhooks * 1000) / ingest.acceptedMs,
      replyMs: ingest.replyMs,
      decidedPerSecond: (batch.length * 1000) / (lastDecided - firstReceived),
      cpuPer1000: (cpu * 1000) / s.webhooks,
      pgCpuPer1000: pgSeconds === undefined ? undefined : (pgSeconds * 1000) / s.webhooks,
      idleReplyMs,
      hitMs,
      missMs,
      notes,
    };
  } finally {
    await t.orchestrator.stop();
    rmSync(t.dir, { recursive: true, force: true });
  }
}

/** The reader itself: the GitHub client's `lockfile`, as the deliveries room's GitHub port calls it. */
async function benchReader(world: OutsideWorld, github: GithubStarted, s: Sizes): Promise<{ hitMs: number[]; missMs: number[] }> {
  const [owner, repo] = APP.repo.split('/') as [string, string];
  const app = new GitHubAppPool({ baseUrl: github.url }).get({ appId: APP.appId, privateKey: github.privateKey });
  const read = async (sha: string) => {
    const started = performance.now();
    const lock = await app.lockfile(owner, repo, sha, { installationId: APP.installationId });
    const took = performance.now() - started;
    if (lock.kind !== 'found') throw new Error(`no lock file at ${sha}`);
    return took;
  };
  for (const sha of await world.commits(WARMUP)) await read(sha);
  const [hot] = await world.commits(1);
  await read(hot!);
  const fresh = await world.commits(s.reads);
  const hitMs: number[] = [];
  const missMs: number[] = [];
  for (const sha of fresh) {
    hitMs.push(await read(hot!));
    missMs.push(await read(sha));
  }
  const stats = app.lockfileStats();
  if (stats.misses !== WARMUP + 1 + s.reads) throw new Error(`expected ${WARMUP + 1 + s.reads} misses, the client counted ${stats.misses}`);
  return { hitMs, missMs };
}

export async function runGithubBench(): Promise<string> {
  const s = sizes();
  const [load1] = loadavg();
  const lines: string[] = [
    'GitHub App webhooks: orchestrator in this process; GitHub (the API stand-in) and the webhook sender in a child process',
    `  ${availableParallelism()} cores, load average ${load1!.toFixed(2)} at the start${load1! > 1.5 ? ' (something else is busy: these figures are not comparable)' : ''}; ` +
      `signed push webhooks (~5 KB) to POST /webhook/${ORG}/github, each matching one workflow (one run, its job queued: no agent)`,
  ];
  let pgServer: TestPostgres | undefined;
  const world = new OutsideWorld();
  const figures: DriverFigures[] = [];
  try {
    const github = await world.call<GithubStarted>({ op: 'github', app: APP });
    for (const driver of s.drivers) {
      let url: string | undefined;
      let pgCpu: PostgresCpu | undefined;
      if (driver === 'postgres') {
        pgServer ??= await testPostgres();
        url = await durableBenchDatabase(pgServer);
        pgCpu = await PostgresCpu.of(pgServer.url);
      }
      figures.push(await benchDriver(driver === 'postgres' ? 'PostgreSQL' : 'PGlite', url, pgCpu, world, github, s));
    }
    const reader = await benchReader(world, github, s);

    const cpuOf = (r: DriverFigures) =>
      r.pgCpuPer1000 !== undefined ? `orchestrator ${f(r.cpuPer1000, 2)}, PostgreSQL ${f(r.pgCpuPer1000, 2)}` : `${f(r.cpuPer1000, 2)} (PGlite inside)`;
    lines.push(
      '',
      `  ingest: ${s.webhooks} webhooks at ${s.inFlight} in flight, each at a fresh commit (its lock file read from the stand-in)`,
      `  ${'database'.padEnd(12)}  ${'accepted/s'.padStart(10)}  ${'reply p50 / p99 ms'.padStart(19)}  ${'decided/s'.padStart(9)}  CPU s per 1000 webhooks`,
      ...figures.map(
        (r) => `  ${r.name.padEnd(12)}  ${f(r.acceptedPerSecond, 0).padStart(10)}  ${pair(r.replyMs).padStart(19)}  ${f(r.decidedPerSecond, 0).padStart(9)}  ${cpuOf(r)}`,
      ),
      '',
      `  one webhook at a time, ${s.cache} at a commit whose lock file is cached and ${s.cache} at a fresh one, alternating`,
      `  ${'database'.padEnd(12)}  ${'reply p50 / p99 ms'.padStart(19)}  ${'accepted → decided p50 / p99 ms: cached'.padStart(40)}  ${'not cached'.padStart(10)}`,
      ...figures.map((r) => `  ${r.name.padEnd(12)}  ${pair(r.idleReplyMs).padStart(19)}  ${pair(r.hitMs, 0).padStart(40)}  ${pair(r.missMs, 0).padStart(10)}`),
      '',
      `  the lock-file read itself, GitHubAppPool.get(…).lockfile(…) (what the GitHub port's readAt calls), ${s.reads} of each, one at a time:`,
      `    cache hit (the client's LRU)                                p50 / p99 ${pair(reader.hitMs, 3)} ms`,
      `    cache miss (contents API on the stand-in, loopback HTTP)    p50 / p99 ${pair(reader.missMs, 2)} ms`,
      '',
      "  accepted/s: first POST → last 202; decided/s: the batch's first received_at → last processed_at (lock file read, matched, run created);",
      '  CPU: this process (the orchestrator; the bench side is IPC and polling) and the PostgreSQL server, from the first POST until every delivery was decided;',
      '  accepted → decided: received_at → processed_at of each delivery row (whole ms).',
      ...figures.flatMap((r) => r.notes.map((n) => `  ${n}`)),
    );
  } finally {
    await world.close();
    await pgServer?.stop();
  }
  return lines.join('\n');
}
