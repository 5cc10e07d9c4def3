import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ADMIN_TOKEN_FILE, AdminApi } from '../src/admin/index.js';
import { loadConfig, startOrchestrator, type Orchestrator } from '../src/server/index.js';
import { STATEMENT_KINDS, type StatementCounts, type Store } from '../src/store/index.js';
import { testPostgres, type TestPostgres } from '../test/support/postgres.js';
import { durableBenchDatabase, envDrivers, envInt, percentile } from './cluster-kit.js';
import { BenchChild } from './child-process.js';
import type { Hook, LoadRequest, LoadResult, SequentialResult } from './dispatch-load.js';
import { benchScaling, scalingWanted } from './dispatch-scaling.js';

/**
 * `npm run bench -- dispatch`: webhook → job.dispatch figures for one orchestrator, on PostgreSQL
 * and on PGlite. The orchestrator runs in this process; the bench agents and the webhook sender run
 * in a child process (dispatch-load.ts) and speak the real protocol, so this process's CPU time is
 * the orchestrator's (PGlite included, it is in-process). Printed per driver:
 * - idle: one agent, webhooks one at a time: webhook → dispatch and webhook reply, p50/p99;
 * - statements and round trips per single-job run (webhook → dispatch → ack → running → step
 *   statuses → result → run complete), counted at the driver (`store.statements()`) around the
 *   idle batch, less what the node sends on its own in an idle window as long; and by kind;
 * - sustained: dispatches/s and reply p50/p99 with agents × slots under webhooks at N in flight;
 *   CPU-seconds per 1000 jobs of the orchestrator and of the PostgreSQL server (its processes'
 *   utime+stime from /proc); and whether every run finished once, none stuck, none dispatched twice;
 * - how cost grows, on the same orchestrator (dispatch-scaling.ts, with its own sizes;
 *   KICI_BENCH_DISPATCH_SCALING=0 skips it): runs of 1, 16 and 256 jobs, a deep queue over many
 *   label sets, and many idle agents.
 *
 * Sizes (environment; defaults finish in about two minutes on two cores):
 *   KICI_BENCH_DISPATCH_DRIVERS    postgres,pglite
 *   KICI_BENCH_DISPATCH_IDLE       100   idle webhooks (after 10 to warm up)
 *   KICI_BENCH_DISPATCH_WEBHOOKS   1000  sustained webhooks (the issue's figure: 2000)
 *   KICI_BENCH_DISPATCH_IN_FLIGHT  50
 *   KICI_BENCH_DISPATCH_AGENTS     40
 *   KICI_BENCH_DISPATCH_SLOTS      25
 *   KICI_BENCH_DISPATCH_TRACE      0     1: also print the SQL of one idle run
 */

const WARMUP = 10;
/** A node is quiet when no statement has gone out for this long. */
const QUIET_MS = 300;

interface Sizes {
  drivers: ('postgres' | 'pglite')[];
  idle: number;
  webhooks: number;
  inFlight: number;
  agents: number;
  slots: number;
  trace: boolean;
}

function sizes(): Sizes {
  return {
    drivers: envDrivers('KICI_BENCH_DISPATCH_DRIVERS'),
    idle: envInt('KICI_BENCH_DISPATCH_IDLE', 100),
    webhooks: envInt('KICI_BENCH_DISPATCH_WEBHOOKS', 1000),
    inFlight: envInt('KICI_BENCH_DISPATCH_IN_FLIGHT', 50),
    agents: envInt('KICI_BENCH_DISPATCH_AGENTS', 40),
    slots: envInt('KICI_BENCH_DISPATCH_SLOTS', 25),
    trace: envInt('KICI_BENCH_DISPATCH_TRACE', 0, 0) > 0,
  };
}

export interface Target {
  orchestrator: Orchestrator;
  store: Store;
  api: AdminApi;
  hook: Hook;
  wsUrl: string;
  dir: string;
}

async function setUp(databaseUrl: string | undefined): Promise<Target> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kici-bench-'));
  const env: Record<string, string> = { KICI_DATA_DIR: path.join(dir, 'data'), KICI_PORT: '0', KICI_HOST: '127.0.0.1', KICI_LOG_LEVEL: 'silent' };
  if (databaseUrl) env.KICI_DATABASE_URL = databaseUrl;
  const orchestrator = await startOrchestrator(loadConfig(env));
  const api = new AdminApi(orchestrator.url, readFileSync(path.join(env.KICI_DATA_DIR, ADMIN_TOKEN_FILE), 'utf8').trim());

  const repo = path.join(dir, 'repo');
  mkdirSync(path.join(repo, '.kici'), { recursive: true });
  const lockfile = { schemaVersion: 1, workflows: [{ name: 'bench', triggers: [{ _type: 'push', branches: ['bench/*'] }], jobs: [{ name: 'noop', steps: [{ run: 'true' }] }] }] };
  writeFileSync(path.join(repo, '.kici', 'kici.lock.json'), JSON.stringify(lockfile));
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' } }).trim();
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'bench');
  const sha = git('rev-parse', 'HEAD');
  const secret = randomBytes(16).toString('hex');
  const source = await api.call<{ id: string }>('POST', '/sources', { kind: 'git', orgId: 'bench', name: 'bench', url: `file://${repo}`, secret });
  return {
    orchestrator,
    store: orchestrator.store,
    api,
    hook: { url: `${orchestrator.url}/webhook/bench/git/${source.id}`, secret, sha },
    wsUrl: `${orchestrator.url.replace(/^http/, 'ws')}/ws`,
    dir,
  };
}

/** The child process with the agents and the webhook sender. */
export class LoadProcess extends BenchChild<LoadRequest> {
  constructor() {
    super('./dispatch-load.js', 'load process');
  }
}

export async function connectAgents(t: Target, load: LoadProcess, count: number, slots: number): Promise<void> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    // maxConcurrency: the slots a token lets its agent declare (ignored where tokens carry no cap).
    const { token } = await t.api.call<{ token: string }>('POST', '/agent-tokens', { name: `bench-${randomBytes(3).toString('hex')}-${i}`, maxConcurrency: slots });
    tokens.push(token);
  }
  await load.call({ op: 'agents', wsUrl: t.wsUrl, tokens, slots, labels: ['bench'] });
}

/**
 * Wait until the node has sent no statement for QUIET_MS, or `maxMs` passed (a node that keeps
 * sending on its own is never silent; what it sends idle is measured and taken off separately).
 */
export async function quiet(store: Store, maxMs = 3_000): Promise<void> {
  const deadline = performance.now() + maxMs;
  let last = store.statements().roundTrips;
  let since = performance.now();
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    const now = store.statements().roundTrips;
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= QUIET_MS) {
      return;
    }
  }
}

export function minus(a: StatementCounts, b: StatementCounts): StatementCounts {
  const byKind = { ...a.byKind };
  for (const k of STATEMENT_KINDS) byKind[k] -= b.byKind[k];
  return { statements: a.statements - b.statements, roundTrips: a.roundTrips - b.roundTrips, byKind };
}

export function perRun(c: StatementCounts, runs: number): string {
  const f = (n: number) => (Number.isInteger(n / runs) ? String(n / runs) : (n / runs).toFixed(2));
  const kinds = STATEMENT_KINDS.filter((k) => c.byKind[k] !== 0).map((k) => `${k.toUpperCase()} ${f(c.byKind[k])}`);
  return `${f(c.statements)} statements in ${f(c.roundTrips)} round trips (${kinds.join(', ') || 'none'})`;
}

/** Runs by status; the ones not found count as `missing`. */
export async function statuses(store: Store, runIds: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < runIds.length; i += 50) {
    const runs = await Promise.all(runIds.slice(i, i + 50).map((id) => store.runs.get(id)));
    for (const run of runs) counts.set(run?.status ?? 'missing', (counts.get(run?.status ?? 'missing') ?? 0) + 1);
  }
  return counts;
}

export function describeStatuses(counts: Map<string, number>): string {
  return [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
}

/** CPU time (s) of a PostgreSQL server: the postmaster, its live children, and the children it reaped. */
export class PostgresCpu {
  private readonly tick = clockTick();
  private constructor(private readonly postmaster: number) {}

  static async of(url: string): Promise<PostgresCpu | undefined> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      const ppid = procStat(rows[0]!.pid)?.ppid;
      return ppid ? new PostgresCpu(ppid) : undefined;
    } finally {
      await client.end();
    }
  }

  seconds(): number {
    const root = procStat(this.postmaster);
    if (!root) return Number.NaN;
    let ticks = root.utime + root.stime + root.cutime + root.cstime;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const s = procStat(Number(entry));
      if (s?.ppid === this.postmaster) ticks += s.utime + s.stime;
    }
    return ticks / this.tick;
  }
}

function procStat(pid: number): { ppid: number; utime: number; stime: number; cutime: number; cstime: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces), from field 3 (state) on.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), cutime: Number(f[13]), cstime: Number(f[14]) };
}

function clockTick(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

const ms = (v: number) => `${v.toFixed(1)} ms`;

async function benchDriver(name: string, url: string | undefined, pgCpu: PostgresCpu | undefined, load: LoadProcess, s: Sizes): Promise<string[]> {
  const t = await setUp(url);
  const lines: string[] = [];
  const indent = ' '.repeat(14);
  try {
    // Idle: one agent with one slot, webhooks one at a time.
    await connectAgents(t, load, 1, 1);
    await load.call<SequentialResult>({ op: 'sequential', hook: t.hook, count: WARMUP });
    await quiet(t.store);
    const before = t.store.statements();
    const idleStart = performance.now();
    const idle = await load.call<SequentialResult>({ op: 'sequential', hook: t.hook, count: s.idle });
    await quiet(t.store);
    const batch = minus(t.store.statements(), before);
    const batchMs = performance.now() - idleStart;
    // What the node sends on its own (leases, clock samples, sweeps) in a window as long.
    const bgBefore = t.store.statements();
    await new Promise((r) => setTimeout(r, Math.min(batchMs, 10_000)));
    const background = minus(t.store.statements(), bgBefore);
    const scale = batchMs / Math.min(batchMs, 10_000);
    for (const k of STATEMENT_KINDS) background.byKind[k] = Math.round(background.byKind[k] * scale);
    background.statements = Math.round(background.statements * scale);
    background.roundTrips = Math.round(background.roundTrips * scale);
    const idleStatuses = await statuses(t.store, idle.runIds);
    const reply = [...idle.replyMs].sort((a, b) => a - b);
    const dispatch = [...idle.dispatchMs].sort((a, b) => a - b);
    lines.push(
      `  ${name.padEnd(11)} idle (1 agent × 1 slot, ${s.idle} webhooks one at a time): webhook → dispatch p50 ${ms(percentile(dispatch, 0.5))}, p99 ${ms(percentile(dispatch, 0.99))}; ` +
        `reply p50 ${ms(percentile(reply, 0.5))}, p99 ${ms(percentile(reply, 0.99))}`,
      `${indent}per single-job run: ${perRun(minus(batch, background), s.idle)}` +
        ` [mean of ${s.idle} runs, less ${background.statements} statements the idle node sent in as long; runs: ${describeStatuses(idleStatuses)}]`,
    );

    if (s.trace) {
      await quiet(t.store);
      const seen: string[] = [];
      const stop = t.store.watchStatements((text) => seen.push(text.replace(/\s+/g, ' ').trim().slice(0, 400)));
      const one = await load.call<SequentialResult>({ op: 'sequential', hook: t.hook, count: 1 });
      await quiet(t.store);
      stop();
      lines.push(`${indent}the SQL of one run (${one.runIds[0]}), in order:`, ...seen.map((q, i) => `${indent}  ${String(i + 1).padStart(3)}. ${q}`));
    }

    // Sustained: many agents, many webhooks in flight.
    await connectAgents(t, load, s.agents, s.slots);
    await quiet(t.store);
    const loadBefore = t.store.statements();
    const cpu0 = cpuSeconds();
    const pg0 = pgCpu?.seconds();
    const res = await load.call<LoadResult>({ op: 'load', hook: t.hook, count: s.webhooks, inFlight: s.inFlight, timeoutMs: 60_000 + s.webhooks * 100 });
    await quiet(t.store);
    const cpu = cpuSeconds() - cpu0;
    const pgSeconds = pgCpu ? pgCpu.seconds() - pg0! : undefined;
    const underLoad = minus(t.store.statements(), loadBefore);
    const loadStatuses = await statuses(t.store, res.runIds);
    const loadReply = [...res.replyMs].sort((a, b) => a - b);
    const per1000 = (sec: number) => `${((sec * 1000) / s.webhooks).toFixed(2)} s`;
    const unfinished = res.runIds.length - (loadStatuses.get('success') ?? 0);
    lines.push(
      `${indent}sustained (${s.agents} agents × ${s.slots} slots, ${s.webhooks} webhooks at ${s.inFlight} in flight): ` +
        `${((s.webhooks * 1000) / res.dispatchedMs).toFixed(0)} dispatches/s, all results taken after ${(res.finishedMs / 1000).toFixed(1)} s; ` +
        `reply p50 ${ms(percentile(loadReply, 0.5))}, p99 ${ms(percentile(loadReply, 0.99))}; webhooks accepted ${((s.webhooks * 1000) / res.acceptedMs).toFixed(0)}/s`,
      `${indent}CPU per 1000 jobs: orchestrator ${per1000(cpu)}${url ? '' : ' (PGlite runs inside it)'}` +
        `${pgSeconds !== undefined ? `, PostgreSQL ${per1000(pgSeconds)}` : ''}; per run under load: ${perRun(underLoad, s.webhooks)}`,
      `${indent}correctness: ${res.runIds.length} of ${s.webhooks} runs dispatched (${describeStatuses(loadStatuses)}); ` +
        `${unfinished} not finished, ${res.duplicates} dispatched twice` +
        `${res.rateWarnings || res.errors ? `; the node sent ${res.rateWarnings} rate-limit warnings and ${res.errors} errors` : ''}`,
    );
    if (scalingWanted()) lines.push(...(await benchScaling({ target: t, load, pgCpu, driver: url ? 'postgres' : 'pglite', indent })));
  } finally {
    await t.orchestrator.stop();
    rmSync(t.dir, { recursive: true, force: true });
  }
  return lines;
}

export async function runDispatchBench(): Promise<string> {
  const s = sizes();
  const [load1] = loadavg();
  const lines: string[] = [
    'webhook → job.dispatch: orchestrator in this process; agents (ack, running, step running/success, result; terminal statuses acked) and the webhook sender in a child process',
    `  ${availableParallelism()} cores, load average ${load1!.toFixed(2)} at the start${load1! > 1.5 ? ' (something else is busy: these figures are not comparable)' : ''}; ` +
      'orchestrator CPU is this process (the bench side of it is a few IPC messages)',
  ];
  let pgServer: TestPostgres | undefined;
  const load = new LoadProcess();
  try {
    for (const driver of s.drivers) {
      let url: string | undefined;
      let pgCpu: PostgresCpu | undefined;
      if (driver === 'postgres') {
        pgServer ??= await testPostgres();
        url = await durableBenchDatabase(pgServer);
        pgCpu = await PostgresCpu.of(pgServer.url);
        lines.push('  (PostgreSQL 15 test server: fsync off server-wide, synchronous_commit on for the bench database)');
      }
      lines.push(...(await benchDriver(driver === 'postgres' ? 'PostgreSQL' : 'PGlite', url, pgCpu, load, s)));
    }
  } finally {
    await load.close();
    await pgServer?.stop();
  }
  return lines.join('\n');
}
