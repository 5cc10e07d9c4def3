import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'kysely';
import type { StatementCounts, Store } from '../src/store/index.js';
import { queryBuilderOf } from '../src/store/testing.js';
import { envInt, percentile } from './cluster-kit.js';
import { connectAgents, cpuSeconds, describeStatuses, minus, perRun, quiet, statuses, type LoadProcess, type PostgresCpu, type Target } from './dispatch.js';
import type { Hook, IdleAgentsResult, LoadResult, PushesResult, QueueResult } from './dispatch-load.js';

/**
 * How cost grows, printed by `npm run bench -- dispatch` after each driver's other figures, on the
 * same orchestrator (its runs from before are still there; its agents are let go first):
 * - runs of 1, 16 and 256 independent jobs, one run at a time with a slot for every job: statements
 *   and round trips per run, orchestrator CPU per run and per job, webhook → last dispatch and →
 *   last result;
 * - a deep queue: jobs queued over many label sets while no agent has those labels, then one agent
 *   per label set connects: time until every job is dispatched, dispatches/s, CPU per 1000, and
 *   how long the orchestrator's event loop stalled meanwhile;
 * - many idle agents (one token, kept alive as kici-agent keeps an idle link): the orchestrator's
 *   memory for them after full collections, and its CPU per minute while they idle, against a
 *   window with no agent at all (measured first, printed last).
 * The workflows are a second commit of the bench repository, so the figures before are untouched.
 *
 * PGlite's deep queue has a size of its own: PGlite runs queued queries back to back without
 * giving the event loop a turn, and before group commit (1f06a7a, six statements a job) 10,000 jobs
 * stalled the orchestrator's loop for 6–10 s at a time on a busy machine: acks waiting unread in
 * the sockets missed their 10 s deadline, healthy agents were closed with 4031 and their label
 * sets' jobs were left queued. The loop delay is printed for that reason.
 *
 * Sizes (environment; the defaults add a little over a minute per driver on two cores):
 *   KICI_BENCH_DISPATCH_SCALING            1     0: skip this part
 *   KICI_BENCH_DISPATCH_RUN_SIZES          1:20,16:10,256:3   jobs in a run : runs of that size
 *   KICI_BENCH_DISPATCH_QUEUED             10000 jobs in the deep queue
 *   KICI_BENCH_DISPATCH_QUEUED_PGLITE      _QUEUED  on PGlite, when it must differ (see above)
 *   KICI_BENCH_DISPATCH_LABEL_SETS         50
 *   KICI_BENCH_DISPATCH_QUEUE_SLOTS        20    slots of each label set's agent
 *   KICI_BENCH_DISPATCH_IDLE_AGENTS        1000
 *   KICI_BENCH_DISPATCH_IDLE_SECONDS       20    the idle window with them
 *   KICI_BENCH_DISPATCH_BASELINE_SECONDS   10    the idle window with no agent, before they connect
 */

/** A matrix gives at most this many children (docs/lockfile.md). */
const MAX_MATRIX = 256;
/** Slots per agent for the run sizes: the default cap of a token is 64. */
const RUN_SLOTS = 32;
/** Webhooks in flight while the deep queue is filled. */
const QUEUE_PUSHES_IN_FLIGHT = 10;
/** Idle agents registering at once: enough to be quick, few enough not to measure a connect storm. */
const IDLE_CONNECTING = 50;
const PENDING = 'kici_dispatch_queue_depth{status="pending"}';
const AGENTS_ACTIVE = 'kici_agents_active';

export interface ScalingBench {
  target: Target;
  load: LoadProcess;
  pgCpu: PostgresCpu | undefined;
  driver: 'postgres' | 'pglite';
  indent: string;
}

interface RunSize {
  jobs: number;
  runs: number;
}

interface ScalingSizes {
  runSizes: RunSize[];
  /** Jobs asked for in the deep queue on this driver, and whether PGlite's smaller figure applies. */
  queued: number;
  pgliteQueue: boolean;
  labelSets: number;
  queueSlots: number;
  idleAgents: number;
  idleSeconds: number;
  baselineSeconds: number;
}

/** The deep queue as pushes: every label set gets `runsPerSet` runs of `jobsPerRun` jobs. */
interface QueuePlan {
  labelSets: number;
  runsPerSet: number;
  jobsPerRun: number;
  total: number;
}

export function scalingWanted(): boolean {
  return envInt('KICI_BENCH_DISPATCH_SCALING', 1, 0) > 0;
}

function scalingSizes(driver: ScalingBench['driver']): ScalingSizes {
  const queued = envInt('KICI_BENCH_DISPATCH_QUEUED', 10_000);
  const pgliteQueued = envInt('KICI_BENCH_DISPATCH_QUEUED_PGLITE', queued);
  return {
    runSizes: runSizes(process.env.KICI_BENCH_DISPATCH_RUN_SIZES || '1:20,16:10,256:3'),
    queued: driver === 'pglite' ? pgliteQueued : queued,
    pgliteQueue: driver === 'pglite' && pgliteQueued !== queued,
    labelSets: envInt('KICI_BENCH_DISPATCH_LABEL_SETS', 50),
    queueSlots: envInt('KICI_BENCH_DISPATCH_QUEUE_SLOTS', 20),
    idleAgents: envInt('KICI_BENCH_DISPATCH_IDLE_AGENTS', 1000),
    idleSeconds: envInt('KICI_BENCH_DISPATCH_IDLE_SECONDS', 20),
    baselineSeconds: envInt('KICI_BENCH_DISPATCH_BASELINE_SECONDS', 10),
  };
}

/** `jobs:runs,…`, each size once, a size no more than a matrix gives. */
function runSizes(text: string): RunSize[] {
  const sizes = text.split(',').map((entry) => {
    const [jobs, runs] = entry.split(':').map((n) => Number(n.trim()));
    if (!Number.isInteger(jobs) || !Number.isInteger(runs) || jobs < 1 || jobs > MAX_MATRIX || runs < 1) {
      throw new Error(`KICI_BENCH_DISPATCH_RUN_SIZES: ${entry} is not jobs:runs (1 ≤ jobs ≤ ${MAX_MATRIX}, runs ≥ 1)`);
    }
    return { jobs, runs };
  });
  if (new Set(sizes.map((s) => s.jobs)).size !== sizes.length) throw new Error('KICI_BENCH_DISPATCH_RUN_SIZES: a run size is given twice');
  return sizes;
}

function queuePlan(queued: number, labelSets: number): QueuePlan {
  const perSet = Math.ceil(queued / labelSets);
  const runsPerSet = Math.ceil(perSet / MAX_MATRIX);
  const jobsPerRun = Math.ceil(perSet / runsPerSet);
  return { labelSets, runsPerSet, jobsPerRun, total: labelSets * runsPerSet * jobsPerRun };
}

// ---- the workflows ----------------------------------------------------------------------------

/** One job of `count` children (a plain job for one, so a run of 1 is the single-job run above). */
function fannedJob(count: number): Record<string, unknown> {
  const steps = [{ run: 'true' }];
  if (count === 1) return { name: 'noop', steps };
  return { name: 'shard', matrix: { shard: Array.from({ length: count }, (_, i) => String(i)) }, steps };
}

/** Each workflow runs on pushes to branches under its own name, so a push picks exactly one. */
function pushWorkflow(name: string, job: Record<string, unknown>) {
  return { name, triggers: [{ _type: 'push', branches: [`${name}/*`] }], jobs: [job] };
}

function scalingLockfile(sizes: ScalingSizes, plan: QueuePlan) {
  return {
    schemaVersion: 1,
    workflows: [
      ...sizes.runSizes.map(({ jobs }) => pushWorkflow(runOf(jobs), fannedJob(jobs))),
      ...Array.from({ length: plan.labelSets }, (_, k) => pushWorkflow(queueOf(k), { ...fannedJob(plan.jobsPerRun), runsOn: [queueOf(k)] })),
    ],
  };
}

const runOf = (jobs: number) => `run-of-${jobs}`;
const queueOf = (k: number) => `queue-${k}`;

/** Commit the lock file in the bench repository (where setUp made it); the new commit's sha. */
function commitLockfile(target: Target, lockfile: unknown): string {
  const repo = path.join(target.dir, 'repo');
  writeFileSync(path.join(repo, '.kici', 'kici.lock.json'), JSON.stringify(lockfile));
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' } }).trim();
  git('commit', '-q', '-am', 'bench: how cost grows');
  return git('rev-parse', 'HEAD');
}

// ---- measuring ---------------------------------------------------------------------------------

/** One series of the node's /metrics (name with its labels, as printed); NaN when absent. */
async function metric(target: Target, series: string): Promise<number> {
  const text = await (await fetch(`${target.orchestrator.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : Number.NaN;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`not ${what} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the node did in a window when nothing was asked of it: its CPU, and what it sent the database. */
interface IdleWindow {
  ms: number;
  cpuSeconds: number;
  counts: StatementCounts;
}

async function idleWindow(store: Store, ms: number): Promise<IdleWindow> {
  const cpu0 = cpuSeconds();
  const before = store.statements();
  const started = performance.now();
  await sleep(ms);
  return { ms: performance.now() - started, cpuSeconds: cpuSeconds() - cpu0, counts: minus(store.statements(), before) };
}

const cpuPerMinute = (w: IdleWindow) => (w.cpuSeconds * 1000 * 60_000) / w.ms;
const statementsPerMinute = (w: IdleWindow) => (w.counts.statements * 60_000) / w.ms;

let gc: (() => void) | undefined;

/** A full collection, so a reading counts what stays alive (the bench runs without --expose-gc). */
function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

interface Memory {
  rss: number;
  /** V8's young generation, in RSS (see `memory`). */
  young: number;
  heap: number;
}

/**
 * What stays alive after full collections, once freed pages have left RSS. Two collections: the
 * pages the first one empties by compacting are given back by the next (one alone left 10 MiB in
 * RSS after the runs before), and unmapped a moment later. V8's young generation is read apart:
 * V8 sizes it itself (1 to 32 MiB) by how fast the process allocates, and shrinks it only seconds
 * after that slows, so it moves RSS by more than what the agents keep alive.
 */
async function memory(): Promise<Memory> {
  collectGarbage();
  collectGarbage();
  await sleep(1000);
  const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.physical_space_size ?? 0;
  const m = process.memoryUsage();
  return { rss: m.rss, young, heap: m.heapUsed };
}

/** RSS and heap growth from `before`, the part of RSS that is not V8's young generation apart. */
function growth(before: Memory, now: Memory, agents: number): string {
  const perAgent = (bytes: number) => `${(bytes / 1024 / agents).toFixed(1)} KiB an agent`;
  const old = now.rss - now.young - (before.rss - before.young);
  return (
    `RSS ${grown(now.rss - before.rss)} (${grown(old)} without V8's young generation, ${mib(before.young)} → ${mib(now.young)}), ` +
    `heap ${grown(now.heap - before.heap)} (${perAgent(now.heap - before.heap)})`
  );
}

const ms = (v: number) => `${v.toFixed(1)} ms`;
const seconds = (v: number) => `${v.toFixed(1)} s`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const grown = (bytes: number) => `${bytes >= 0 ? '+' : ''}${mib(bytes)}`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

// ---- the three parts ---------------------------------------------------------------------------

/** Runs of each size, one at a time, with a slot for every job of the largest. */
async function benchRunSizes(b: ScalingBench, sizes: ScalingSizes, sha: string, idle: IdleWindow): Promise<string[]> {
  const { target, load, indent } = b;
  const largest = Math.max(...sizes.runSizes.map((s) => s.jobs));
  const agents = Math.ceil(largest / RUN_SLOTS);
  await connectAgents(target, load, agents, RUN_SLOTS);
  // The first push of the new commit fetches it and parses its lock file: not a run's cost.
  const smallest = Math.min(...sizes.runSizes.map((s) => s.jobs));
  await load.call<LoadResult>({ op: 'load', hook: { ...target.hook, sha, branch: runOf(smallest) }, count: 1, inFlight: 1, jobsPerRun: smallest, timeoutMs: 60_000 });
  const lines: string[] = [];
  const runIds: string[] = [];
  let jobs = 0;
  let duplicates = 0;
  let strays = 0;
  for (const size of sizes.runSizes) {
    const hook: Hook = { ...target.hook, sha, branch: runOf(size.jobs) };
    await quiet(target.store);
    const before = target.store.statements();
    const cpu0 = cpuSeconds();
    const results: LoadResult[] = [];
    for (let i = 0; i < size.runs; i++) {
      results.push(await load.call<LoadResult>({ op: 'load', hook, count: 1, inFlight: 1, jobsPerRun: size.jobs, timeoutMs: 60_000 + size.jobs * 200 }));
    }
    await quiet(target.store);
    const cpu = cpuSeconds() - cpu0;
    // Not less the idle node's own statements (its sweeps: five every 10 s): under one a run here,
    // and taking off their mean gives negative counts of a kind in batches no sweep fell in.
    const counts = minus(target.store.statements(), before);
    for (const r of results) {
      runIds.push(...r.runIds);
      duplicates += r.duplicates;
      // A webhook's jobs all came from its one run; more runs than webhooks means a stray one.
      strays += r.runIds.length - 1;
    }
    jobs += size.runs * size.jobs;
    const lastDispatch = results.map((r) => r.dispatchedMs);
    const lastResult = results.map((r) => r.finishedMs);
    lines.push(
      `${indent}run of ${plural(size.jobs, 'job')} (${plural(size.runs, 'run')}, one at a time, ${agents} agents × ${RUN_SLOTS} slots): ${perRun(counts, size.runs)}` +
        `${size.jobs > 1 ? `, ${(counts.statements / (size.runs * size.jobs)).toFixed(1)} a job` : ''}; ` +
        `orchestrator CPU ${ms((cpu * 1000) / size.runs)} a run, ${ms((cpu * 1000) / (size.runs * size.jobs))} a job; ` +
        `webhook → last dispatch p50 ${ms(percentile(lastDispatch, 0.5))}, → last result p50 ${ms(percentile(lastResult, 0.5))}, max ${ms(Math.max(...lastResult))}`,
    );
  }
  const byStatus = await statuses(target.store, runIds);
  const failed = runIds.length - (byStatus.get('success') ?? 0);
  lines.push(
    `${indent}correctness (run sizes): ${runIds.length} runs (${describeStatuses(byStatus)}), ${failed} not success; ${jobs} jobs dispatched, ${duplicates} twice; ` +
      `${strays} runs no webhook asked for [after one warm-up run; the statements include the idle node's own, ${statementsPerMinute(idle).toFixed(0)} a minute]`,
  );
  return lines;
}

/**
 * The deep queue grows the tables from a few hundred rows to tens of thousands within seconds.
 * Each pooled connection planned its prepared statements when they were small, and keeps those
 * plans until the tables are analysed again, which autovacuum does within its minute's nap: the
 * dispatch figure would depend on where in that minute it fell (PostgreSQL's CPU per 1000
 * dispatches 0.4–0.8 s after the analysis, 2.4–4.4 s before it). Analysing here measures the
 * queue as a database that has seen its tables' size would dispatch it.
 */
async function freshStatistics(store: Store): Promise<void> {
  await sql`analyze runs, jobs, steps, job_needs`.execute(queryBuilderOf(store));
}

/** Jobs queued over many label sets with no agent for them; then one agent per set takes them all. */
async function benchDeepQueue(b: ScalingBench, sizes: ScalingSizes, plan: QueuePlan, sha: string): Promise<string[]> {
  const { target, load, indent, pgCpu } = b;
  const hooks: Hook[] = [];
  for (let k = 0; k < plan.labelSets; k++) for (let r = 0; r < plan.runsPerSet; r++) hooks.push({ ...target.hook, sha, branch: queueOf(k) });
  const pendingBefore = await metric(target, PENDING);
  const queuingCpu0 = cpuSeconds();
  const queuing = performance.now();
  await load.call<PushesResult>({ op: 'pushes', hooks, inFlight: QUEUE_PUSHES_IN_FLIGHT });
  await waitFor(`${plan.total} jobs queued`, async () => (await metric(target, PENDING)) >= pendingBefore + plan.total, 120_000 + plan.total * 50);
  const queuedMs = performance.now() - queuing;
  await quiet(target.store);
  const queuingCpu = cpuSeconds() - queuingCpu0;
  if (b.driver === 'postgres') await freshStatistics(target.store);

  // One token for every agent: it caps the slots each may declare, not how many use it.
  const { token } = await target.api.call<{ token: string }>('POST', '/agent-tokens', { name: 'bench-queue', maxConcurrency: sizes.queueSlots });
  const before = target.store.statements();
  const cpu0 = cpuSeconds();
  const pg0 = pgCpu?.seconds();
  // A node whose event loop stalls reads agents' frames late: acks then miss their 10 s deadline.
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  const res = await load.call<QueueResult>({
    op: 'take-queue',
    wsUrl: target.wsUrl,
    token,
    labelSets: Array.from({ length: plan.labelSets }, (_, k) => [queueOf(k)]),
    slots: sizes.queueSlots,
    jobs: plan.total,
    timeoutMs: 60_000 + plan.total * 30,
  });
  loopDelay.disable();
  await quiet(target.store);
  const cpu = cpuSeconds() - cpu0;
  const pgSeconds = pgCpu ? pgCpu.seconds() - pg0! : undefined;
  const counts = minus(target.store.statements(), before);
  const left = (await metric(target, PENDING)) - pendingBefore;
  const byStatus = await statuses(target.store, res.runIds);
  const per1000 = (sec: number) => seconds((sec * 1000) / plan.total);
  const smaller = sizes.pgliteQueue ? ` (on PGlite ${plan.total}, not ${envInt('KICI_BENCH_DISPATCH_QUEUED', 10_000)}: KICI_BENCH_DISPATCH_QUEUED_PGLITE)` : '';
  return [
    `${indent}deep queue: ${plan.total} jobs${smaller} over ${plan.labelSets} label sets, queued while no agent had those labels ` +
      `(${hooks.length} webhooks, runs of ${plan.jobsPerRun} jobs; all queued ${seconds(queuedMs / 1000)} after the first${b.driver === 'postgres' ? '; tables analysed after' : ''}); ` +
      `then ${plan.labelSets} agents × ${sizes.queueSlots} slots, one a label set, connect at once (all registered after ${seconds(res.connectedMs / 1000)}): ` +
      `all dispatched after ${seconds(res.dispatchedMs / 1000)}, ${((plan.total * 1000) / res.dispatchedMs).toFixed(0)} dispatches/s; all results taken after ${seconds(res.finishedMs / 1000)}; ` +
      `orchestrator event loop delay p99 ${ms(loopDelay.percentile(99) / 1e6)}, max ${ms(loopDelay.max / 1e6)}`,
    `${indent}CPU per 1000 dispatches from the deep queue: orchestrator ${per1000(cpu)}${pgSeconds !== undefined ? `, PostgreSQL ${per1000(pgSeconds)}` : ' (PGlite runs inside it)'} ` +
      `(queueing them took the orchestrator ${per1000(queuingCpu)} per 1000 before); ` +
      `per job: ${perRun(counts, plan.total)}`,
    `${indent}correctness (deep queue): ${res.jobs} of ${plan.total} jobs dispatched, ${res.duplicates} twice, ${left} left in the queue; ` +
      `${res.runIds.length} of ${hooks.length} runs (${describeStatuses(byStatus)})` +
      `${res.rateWarnings || res.errors ? `; the node sent ${res.rateWarnings} rate-limit warnings and ${res.errors} errors` : ''}`,
  ];
}

/**
 * Many agents that only keep their links alive: the orchestrator's memory and idle CPU for them.
 * Run on a node that just sat idle with no agent (`none`), so its heap has given back what the
 * figures before it used: V8 returns pages seconds after a burst, and RSS would count them.
 */
async function benchIdleAgents(b: ScalingBench, sizes: ScalingSizes, none: IdleWindow): Promise<string[]> {
  const { target, load, indent } = b;
  const before = await memory();
  const { token } = await target.api.call<{ token: string }>('POST', '/agent-tokens', { name: 'bench-idle', maxConcurrency: 1 });
  const cpu0 = cpuSeconds();
  const res = await load.call<IdleAgentsResult>({ op: 'idle-agents', wsUrl: target.wsUrl, token, count: sizes.idleAgents, labels: ['idle'], connecting: IDLE_CONNECTING });
  await waitFor(`${sizes.idleAgents} agents registered`, async () => (await metric(target, AGENTS_ACTIVE)) === sizes.idleAgents, 60_000);
  // Each registration is recorded after its ack; the idle window starts when the last is.
  await quiet(target.store, 30_000);
  const registering = cpuSeconds() - cpu0;
  const connected = await memory();
  const idle = await idleWindow(target.store, sizes.idleSeconds * 1000);
  const after = await memory();
  await letAgentsGo(target, load);
  const inside = b.driver === 'pglite' ? ' (PGlite\'s memory is in this process too)' : '';
  return [
    `${indent}${sizes.idleAgents} idle agents (one token; each pings every 2.5 s and sends a heartbeat every 30 s, as kici-agent does idle), ` +
      `${IDLE_CONNECTING} connecting at a time: all registered after ${seconds(res.connectedMs / 1000)}, orchestrator CPU ${ms((registering * 1000) / sizes.idleAgents)} a registration; ` +
      `orchestrator memory after full GCs${inside}, registered: ${growth(before, connected, sizes.idleAgents)}; after ${sizes.idleSeconds} s idle: ${growth(before, after, sizes.idleAgents)}`,
    `${indent}idle, per minute: orchestrator CPU ${ms(cpuPerMinute(idle))} with ${sizes.idleAgents} agents (${sizes.idleSeconds} s), ` +
      `${ms(cpuPerMinute(none))} with none (${sizes.baselineSeconds} s just before they came, before the runs above); ` +
      `statements ${statementsPerMinute(idle).toFixed(0)} with them, ${statementsPerMinute(none).toFixed(0)} with none`,
  ];
}

/** Every agent of the load process closes; resolves once the node has none registered. */
async function letAgentsGo(target: Target, load: LoadProcess): Promise<void> {
  await load.call({ op: 'agents', wsUrl: target.wsUrl, tokens: [], slots: 1, labels: [] });
  await waitFor('rid of every agent', async () => (await metric(target, AGENTS_ACTIVE)) === 0, 30_000);
}

/** The three parts, in the order the issue names them; lines in the style of the driver's others. */
export async function benchScaling(b: ScalingBench): Promise<string[]> {
  const sizes = scalingSizes(b.driver);
  const plan = queuePlan(sizes.queued, sizes.labelSets);
  const sha = commitLockfile(b.target, scalingLockfile(sizes, plan));
  // The node with no agent at all, once: the idle agents' baseline, and its own statements to take
  // off the runs' counts (a window of 10 s or more holds its sweeps' period).
  await letAgentsGo(b.target, b.load);
  await quiet(b.target.store);
  const none = await idleWindow(b.target.store, sizes.baselineSeconds * 1000);
  // Measured first (on the node settled by that window), printed last, in the issue's order.
  const idleAgents = await benchIdleAgents(b, sizes, none);
  const runSizes = await benchRunSizes(b, sizes, sha, none);
  const deepQueue = await benchDeepQueue(b, sizes, plan, sha);
  return [`${b.indent}how cost grows:`, ...runSizes, ...deepQueue, ...idleAgents];
}
