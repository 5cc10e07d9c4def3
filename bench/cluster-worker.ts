/**
 * `npm run bench -- cluster-worker`: what an edge worker adds to a dispatch, and how soon the results
 * it held through a cut reach their runs once the cut heals. Three coordinators on one throw-away
 * PostgreSQL (rebalancing off, so node 1 owns every run; fault injection on, so a cut can be made)
 * and one edge worker, `edge-1`, joined with a worker token and dialling all three; every process
 * real, on loopback, in one run of the bench.
 *
 * (a) Webhook → job.dispatch, measured as bench/cluster-dispatch.ts does: a signed push webhook
 *     POSTed, a bench agent that speaks the real protocol and finishes each job at once, ms from
 *     the POST to the agent holding `job.dispatch`. Four kinds, one idle 1-slot agent each place,
 *     interleaved in a random order, one at a time, a short pause between them:
 *       - the baseline: pushed to the owner, the job for an agent on the owner;
 *       - pushed to the owner, the job for an agent on node 2 (the mesh hop alone);
 *       - pushed to the owner, the job for an agent behind the worker (offered to the worker over
 *         its link, which sends it to its agent);
 *       - pushed to the worker (it forwards the webhook to a coordinator), the job for the agent
 *         behind it.
 * (b) Healed cut → every held result applied. Two real `kici-agent`s behind the worker and one run
 *     of K jobs (KICI_BENCH_WORKER_JOBS, default 4) that each wait for a flag file. Each round: a
 *     push starts the run; once every job is `running`, every coordinator cuts the worker
 *     (`POST /cluster/faults`, both ways: the links close and none forms until healed); once the
 *     worker reaches no coordinator and the owner holds the jobs as `recovering`, the flag is
 *     written; once every job has finished on its agent and the worker has acknowledged every
 *     status (the agents' outboxes are empty: the worker holds them in its fsync'd outbox), every
 *     coordinator heals at once and the clock starts. The API and the worker's `/ready` are polled
 *     every 20 ms: heal → the worker reaches a coordinator again, → it reaches the runs' owner
 *     again (held reports go only to their run's owner), → each job `success` (per job), → every
 *     job `success` (THE figure, per round). Each of the worker's links redials on its own
 *     backoff, up to KICI_CLUSTER_PEER_MAX_RECONNECT_DELAY_MS (default 5000, passed on to the
 *     worker), so most of the figure is the wait for the owner's link; the rest is the replay.
 *
 * Sizes: KICI_BENCH_WORKER_SAMPLES (per kind, default 50), KICI_BENCH_WORKER_WARMUP (per kind, 5),
 * KICI_BENCH_WORKER_ROUNDS (8), KICI_BENCH_WORKER_JOBS (4); the cluster timings of
 * bench/cluster-failover.ts are passed on to every node likewise.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EdgeWorker, Fatal, freePort, sleep, startAgent, waitUntil, type Coordinator, type KiciProcess, type WorkerReady } from '../cluster/processes.js';
import { TERMINAL_JOB_STATUSES } from '../src/vocabulary/index.js';
import { BenchAgent } from './bench-agent.js';
import {
  BenchRig,
  clusterTimings,
  describeTimings,
  envInt,
  freshBranch,
  lockfileRepo,
  maxOf,
  ms,
  percentile,
  PushSource,
  shuffle,
  webhookToDispatch,
  type BenchCluster,
  type Timing,
  type WebhookReceiver,
} from './cluster-kit.js';

/** Between two latency webhooks: the last job's slot report has reached the other nodes (as bench/cluster-dispatch.ts). */
const GAP_MS = 20;
const POLL_MS = 20;
const ROUND_TIMEOUT_MS = 60_000;
const WORKER = 'edge-1';
/** The agents behind the worker in (b): two, the jobs' slots shared between them. */
const HELD_AGENTS = 2;
const DEFAULT_RECONNECT_MAX_MS = 5000;

const progress = (line: string): void => {
  process.stderr.write(`[cluster-worker bench] ${line}\n`);
};

interface Sizes {
  samples: number;
  warmup: number;
  rounds: number;
  jobs: number;
  reconnectMaxMs: number;
}

function sizes(): Sizes {
  return {
    samples: envInt('KICI_BENCH_WORKER_SAMPLES', 50),
    warmup: envInt('KICI_BENCH_WORKER_WARMUP', 5, 0),
    rounds: envInt('KICI_BENCH_WORKER_ROUNDS', 8),
    jobs: envInt('KICI_BENCH_WORKER_JOBS', 4),
    reconnectMaxMs: envInt('KICI_CLUSTER_PEER_MAX_RECONNECT_DELAY_MS', DEFAULT_RECONNECT_MAX_MS, 100),
  };
}

/** Three one-job workflows for (a), one label each; `held` for (b): K jobs that wait for `<flags>/<run id>`. */
function lockfile(flags: string, jobs: number) {
  const noop = (name: string) => ({ name, triggers: [{ _type: 'push', branches: [`${name}/*`] }], jobs: [{ name: 'noop', runsOn: [name], steps: [{ run: 'true' }] }] });
  const wait = `while [ ! -f '${flags}/'"$KICI_RUN_ID" ]; do sleep 0.1; done`;
  return {
    schemaVersion: 1,
    workflows: [
      noop('near'),
      noop('far'),
      noop('edge'),
      {
        name: 'held',
        triggers: [{ _type: 'push', branches: ['held/*'] }],
        jobs: Array.from({ length: jobs }, (_, i) => ({ name: `wait-${i + 1}`, runsOn: ['held'], steps: [{ run: wait }] })),
      },
    ],
  };
}

/** The cluster, its worker and what both parts use. */
interface Setup {
  cluster: BenchCluster;
  owner: Coordinator;
  worker: EdgeWorker;
  source: PushSource;
  flags: string;
}

async function setUp(rig: BenchRig, env: Record<string, string>, workerEnv: Record<string, string>, s: Sizes): Promise<Setup> {
  progress('forming 3 coordinators (rebalancing off, fault injection on) …');
  const cluster = await rig.form('wk', 3, { ...env, KICI_CLUSTER_REBALANCE_SHARDS_PER_SECOND: '0', KICI_DEV: 'true', KICI_FAULT_INJECTION: 'true' }, 'warn');
  const owner = cluster.founder;
  await cluster.shards((sp) => sp[owner.name] === 256);
  const flags = path.join(rig.root, 'flags');
  mkdirSync(flags);
  const source = await PushSource.add(owner, lockfileRepo(path.join(rig.root, 'repo'), lockfile(flags, s.jobs)));
  progress(`starting ${WORKER} (dials ${cluster.nodes.map((n) => n.address).join(', ')}) …`);
  const worker = new EdgeWorker(
    {
      name: WORKER,
      dataDir: path.join(rig.root, WORKER),
      httpPort: await freePort(),
      coordinators: cluster.nodes.map((n) => n.address),
      joinToken: await owner.joinToken('worker'),
      env: workerEnv,
    },
    rig.supervisor,
  );
  await worker.start();
  return { cluster, owner, worker, source, flags };
}

/** An agent token (the worker asks a coordinator about one its cluster view does not hold yet). */
async function agentToken(x: Setup, name: string): Promise<string> {
  return (await x.owner.api<{ token: string }>('POST', '/agent-tokens', { name })).token;
}

// ---- (a) latency ---------------------------------------------------------------------------------

interface Kind {
  label: string;
  to: WebhookReceiver;
  prefix: string;
  agent: BenchAgent;
  samples: number[];
}

async function latency(x: Setup, s: Sizes): Promise<{ kinds: Kind[]; edgeAgent: BenchAgent; others: BenchAgent[] }> {
  const { cluster, owner, worker } = x;
  const other = cluster.nodes[1];
  const near = await cluster.agent(owner, 'near-agent', ['near'], 1);
  const far = await cluster.agent(other, 'far-agent', ['far'], 1);
  const edge = new BenchAgent(worker.name, worker.wsUrl, await agentToken(x, 'edge-agent'), 'edge-agent', ['edge'], 1);
  await edge.connect();
  const kinds: Kind[] = [
    { label: 'pushed to the owner, agent on the owner (baseline)', to: owner, prefix: 'near', agent: near, samples: [] },
    { label: `pushed to the owner, agent on ${other.name} (another coordinator)`, to: owner, prefix: 'far', agent: far, samples: [] },
    { label: `pushed to the owner, agent behind ${worker.name}`, to: owner, prefix: 'edge', agent: edge, samples: [] },
    { label: `pushed to ${worker.name} (forwarded), agent behind it`, to: worker, prefix: 'edge', agent: edge, samples: [] },
  ];
  const sample = (k: Kind) => webhookToDispatch(x.source, k.to, k.prefix, k.agent);
  // Warm-up: mirrors fetched, the lock file read once per node, the worker's slots reported.
  for (let i = 0; i < s.warmup; i++) for (const k of shuffle([...kinds])) await sample(k);
  progress(`(a) ${s.samples} webhooks per kind, interleaved …`);
  for (let i = 0; i < s.samples; i++) {
    for (const k of shuffle([...kinds])) {
      k.samples.push(await sample(k));
      await sleep(GAP_MS);
    }
  }
  return { kinds, edgeAgent: edge, others: [near, far] };
}

// ---- (b) healed cut ------------------------------------------------------------------------------

interface RunView {
  id: string;
  status: string;
  jobs: { id: string; name: string; status: string }[];
}

interface HealRound {
  /** What the worker held when the cut healed. */
  held: WorkerReady['checks']['held'];
  /** ms from the heal: the worker reaching a coordinator again, and the runs' owner. */
  linked: number;
  ownerLinked: number;
  /** ms from the heal: the first and the last job `success`. */
  first: number;
  all: number;
  perJob: number[];
}

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_JOB_STATUSES);

/** The worker cut from (or healed with) every coordinator at once: each partitions it on its side. */
async function partition(nodes: Coordinator[], action: 'cut' | 'heal'): Promise<void> {
  const body = action === 'cut' ? { action, peer: WORKER, direction: 'both' } : { action, peer: WORKER };
  await Promise.all(nodes.map((n) => n.api('POST', '/cluster/faults', body)));
}

/** Every job finished on its agent, and every status it sent acknowledged (so held by the worker). */
function resultsHeld(agents: { proc: KiciProcess; workDir: string }[], jobIds: string[]): boolean {
  const finished = agents.flatMap((a) => readFileSync(a.proc.logFile, 'utf8').split('\n').filter((l) => l.includes('"msg":"job finished"')));
  if (!jobIds.every((id) => finished.some((l) => l.includes(id)))) return false;
  return agents.every((a) => readdirSync(path.join(a.workDir, 'outbox')).every((name) => !/^\d{16}\.json$/.test(name)));
}

async function healRound(x: Setup, agents: { proc: KiciProcess; workDir: string }[], s: Sizes): Promise<HealRound> {
  const { cluster, owner, worker } = x;
  const branch = freshBranch('held');
  await x.source.push(owner, branch);
  const runId = await waitUntil('the run of the push', async () => (await cluster.query<{ id: string }>('SELECT id FROM runs WHERE branch = $1', [branch]))[0]?.id, {
    timeoutMs: ROUND_TIMEOUT_MS,
  });
  const view = () => owner.api<RunView>('GET', `/runs/${runId}`);
  const describe = async () => `${JSON.stringify(await view())}\n--- ${WORKER}:\n${worker.proc?.tail(10) ?? ''}`;
  const every = (status: string) => async () => {
    const v = await view();
    return v.jobs.length === s.jobs && v.jobs.every((j) => j.status === status) ? v : undefined;
  };
  const running = await waitUntil(`${s.jobs} jobs running behind ${WORKER}`, every('running'), { timeoutMs: ROUND_TIMEOUT_MS, describe });

  await partition(cluster.nodes, 'cut');
  await waitUntil(`${WORKER} to reach no coordinator`, async () => ((await worker.ready()).status === 503 ? true : undefined), { timeoutMs: 15_000 });
  await waitUntil('the owner to hold the jobs as recovering', every('recovering'), { timeoutMs: 15_000, describe });
  writeFileSync(path.join(x.flags, runId), '');
  const jobIds = running.jobs.map((j) => j.id);
  await waitUntil(`every result held by ${WORKER}`, () => (resultsHeld(agents, jobIds) ? true : undefined), { timeoutMs: 30_000, intervalMs: 50, describe });
  const held = (await worker.ready()).body.checks.held;

  const healed = performance.now();
  await partition(cluster.nodes, 'heal');
  let linked = Number.NaN;
  let ownerLinked = Number.NaN;
  const succeeded = new Map<string, number>();
  await waitUntil(
    'every job success',
    async () => {
      const [v, ready] = await Promise.all([view(), Number.isNaN(ownerLinked) ? worker.ready() : undefined]);
      const now = performance.now() - healed;
      // Each link to a coordinator redials on its own backoff: held reports go once the owner's is up.
      if (ready?.status === 200 && Number.isNaN(linked)) linked = now;
      if (ready?.body.checks.held.coordinators.includes(owner.name)) ownerLinked = now;
      for (const j of v.jobs) {
        if (j.status === 'success' && !succeeded.has(j.id)) succeeded.set(j.id, now);
        else if (TERMINAL.has(j.status) && j.status !== 'success') throw new Fatal(`job ${j.name} ended ${j.status}: ${JSON.stringify(v)}`);
      }
      return succeeded.size === s.jobs ? true : undefined;
    },
    { timeoutMs: ROUND_TIMEOUT_MS, intervalMs: POLL_MS, describe },
  );
  // Before the next round: nothing left held.
  await waitUntil(`${WORKER}'s outbox to empty`, async () => ((await worker.ready()).body.checks.held.outboxDepth === 0 ? true : undefined), { timeoutMs: 30_000 });
  const perJob = [...succeeded.values()];
  return { held, linked, ownerLinked, first: Math.min(...perJob), all: Math.max(...perJob), perJob };
}

async function healedCut(x: Setup, rig: BenchRig, s: Sizes): Promise<HealRound[]> {
  const slots = Math.ceil(s.jobs / HELD_AGENTS);
  const agents: { proc: KiciProcess; workDir: string }[] = [];
  try {
    for (let i = 1; i <= HELD_AGENTS; i++) {
      const name = `held-agent-${i}`;
      const workDir = path.join(rig.root, name);
      const token = await agentToken(x, name);
      // No sandbox: a bubblewrap step has a private /tmp and would never see the flag.
      const proc = startAgent({ name, url: x.worker.wsUrl, token, workDir, logFile: path.join(rig.root, `${name}.log`), labels: ['held'], maxConcurrency: slots, env: { KICI_AGENT_SANDBOX: 'none' } }, rig.supervisor);
      agents.push({ proc, workDir });
    }
    // The bench agent of (a) stays connected behind the worker: 1 + the held agents.
    await waitUntil(`${HELD_AGENTS} agents to register with ${WORKER}`, async () => ((await x.worker.agentsConnected()) === HELD_AGENTS + 1 ? true : undefined), {
      timeoutMs: 30_000,
      describe: () => agents.map((a) => a.proc.tail(5)).join('\n'),
    });
    const rounds: HealRound[] = [];
    for (let r = 1; r <= s.rounds; r++) {
      const round = await healRound(x, agents, s);
      rounds.push(round);
      progress(
        `(b) round ${r}: held ${round.held.outboxDepth} reports (${round.held.outboxBytes} B); heal → a coordinator ${round.linked.toFixed(0)} ms, → the owner ${round.ownerLinked.toFixed(0)} ms, → every job success ${round.all.toFixed(0)} ms`,
      );
    }
    return rounds;
  } finally {
    await Promise.all(agents.map((a) => a.proc.stop(10_000)));
  }
}

// ---- report -------------------------------------------------------------------------------------

export async function runClusterWorkerBench(): Promise<string> {
  const s = sizes();
  const timings = clusterTimings();
  const timingEnv = Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, String(v)]));
  const env = { ...timingEnv, KICI_GIT_RECONCILE_INTERVAL_MS: '3600000' };
  const workerEnv = { ...timingEnv, KICI_CLUSTER_PEER_MAX_RECONNECT_DELAY_MS: String(s.reconnectMaxMs) };
  const started = performance.now();
  const rig = await BenchRig.create('worker');
  try {
    const x = await setUp(rig, env, workerEnv, s);
    try {
      const lat = await latency(x, s);
      for (const a of lat.others) a.close();
      progress(`(b) ${s.rounds} rounds of ${s.jobs} jobs held through a cut …`);
      const rounds = await healedCut(x, rig, s);
      lat.edgeAgent.close();
      return formatClusterWorker(s, timings, lat.kinds, rounds, performance.now() - started);
    } finally {
      await x.worker.stop(10_000);
    }
  } finally {
    await rig.close();
  }
}

export function formatClusterWorker(s: Sizes, timings: Record<Timing, number>, kinds: Kind[], rounds: HealRound[], elapsedMs: number): string {
  const [near, far, edge, forwarded] = kinds;
  const p = (xs: number[], q: number) => percentile(xs, q);
  const row = (label: string, xs: number[], digits: number) => `    ${label.padEnd(62)} ${ms(p(xs, 0.5), 7, digits)} ${ms(p(xs, 0.99), 7, digits)} ${ms(maxOf(xs), 7, digits)}`;
  const diff = (a: Kind, b: Kind, q: number) => {
    const d = p(a.samples, q) - p(b.samples, q);
    return `${d < 0 ? '−' : '+'}${Math.abs(d).toFixed(1)}`;
  };
  const head = `    ${''.padEnd(62)} ${'p50'.padStart(7)} ${'p99'.padStart(7)} ${'max'.padStart(7)}`;
  const held = rounds.map((r) => r.held);
  const median = (xs: number[]) => p(xs, 0.5);
  const lines = [
    `Edge worker (3 kici-orchestrator coordinators and 1 edge worker on loopback, one PostgreSQL, coordinators logging at warn; wall-clock ms; ${describeTimings(timings)})`,
    `  (a) signed push webhook POSTed → job.dispatch at the agent (as bench/cluster-dispatch.ts), rebalancing off (node 1 owns all 256 shards); one idle 1-slot bench agent per place; ` +
      `${s.samples} webhooks per kind (KICI_BENCH_WORKER_SAMPLES) after ${s.warmup} each to warm up, the four kinds interleaved in a random order, one at a time, ${GAP_MS} ms apart`,
    head,
    ...kinds.map((k) => row(k.label, k.samples, 1)),
    `    behind the worker − on the owner: p50 ${diff(edge, near, 0.5)} ms, p99 ${diff(edge, near, 0.99)} ms; ` +
      `behind the worker − on another coordinator: p50 ${diff(edge, far, 0.5)} ms, p99 ${diff(edge, far, 0.99)} ms; ` +
      `the forward (pushed to the worker − pushed to the owner, agent behind the worker): p50 ${diff(forwarded, edge, 0.5)} ms, p99 ${diff(forwarded, edge, 0.99)} ms`,
    `  (b) healed cut → every held result applied: ${rounds.length} rounds (KICI_BENCH_WORKER_ROUNDS), each one run of ${s.jobs} jobs (KICI_BENCH_WORKER_JOBS) on ${HELD_AGENTS} kici-agents behind the worker ` +
      `that finish while every coordinator cuts the worker off; the worker held ${median(held.map((h) => h.outboxDepth))} reports (${median(held.map((h) => h.outboxBytes))} B) at the heal (median); ` +
      `clock from the heal (the three coordinators healed at once), API and worker /ready polled every ${POLL_MS} ms; worker redial backoff up to ${s.reconnectMaxMs} ms (KICI_CLUSTER_PEER_MAX_RECONNECT_DELAY_MS)`,
    head,
    row('heal → the worker reaches a coordinator again', rounds.map((r) => r.linked), 0),
    row(`heal → the worker reaches the runs' owner again`, rounds.map((r) => r.ownerLinked), 0),
    row('the owner linked → every job success (the replay)', rounds.map((r) => r.all - r.ownerLinked), 0),
    row('heal → the first job success', rounds.map((r) => r.first), 0),
    row('heal → every job success (per round)', rounds.map((r) => r.all), 0),
    row(`heal → each job success (per job, ${rounds.length} × ${s.jobs})`, rounds.flatMap((r) => r.perJob), 0),
    `    round by round, heal → every job success: ${rounds.map((r) => r.all.toFixed(0)).join(', ')} ms; → the owner linked: ${rounds.map((r) => r.ownerLinked.toFixed(0)).join(', ')} ms`,
    `  (nearest-rank percentiles: with fewer than 100 values p99 is the max; the bench took ${(elapsedMs / 1000).toFixed(0)} s)`,
  ];
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runClusterWorkerBench().then(
    (text) => {
      process.stdout.write(`${text}\n`);
      process.exit(0);
    },
    (e: Error) => {
      process.stderr.write(`cluster-worker bench failed: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
