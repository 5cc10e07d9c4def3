/**
 * `npm run bench -- cluster-dispatch`: bench/dispatch.ts's method (signed push webhooks, bench
 * agents that speak the real protocol and finish each job at once, time from the POST to the
 * agent holding `job.dispatch`) carried over to real `kici-orchestrator` processes on loopback,
 * on one throw-away PostgreSQL, to show what the mesh costs. Everything in one run of the bench,
 * so each figure and its baseline see the same machine.
 *
 * (a) Latency, 3 nodes, rebalancing off: node 1 (the founder) owns all 256 shards, so every run's
 *     owner is known. Three kinds of webhook, interleaved in a random order, one at a time, each to
 *     an idle 1-slot agent, a short pause between them:
 *       - the baseline: pushed to the owner, the job for an agent on the owner (label `near`);
 *       - the mesh: pushed to the owner, the job for an agent on node 2 (label `far`): the owner
 *         offers it over the peer link and node 2 sends it to its agent;
 *       - pushed to node 3 (not the owner), the job for the agent on the owner: node 3 records the
 *         run and hands it to the owner's run actor over the peer links (what a load balancer in
 *         front of the cluster does to two webhooks in three).
 * (b) Dispatches per second, 1 node vs 3 nodes, the same workload (W webhooks from C concurrent
 *     senders, A agents × S slots), alternating between the two clusters round by round (both up
 *     all along; the idle one only heartbeats). 1 node: a cluster of one, every agent on it. 3
 *     nodes: the default rebalancing has spread the shards evenly (86/85/85) before the first
 *     round, the agents are spread evenly over the nodes and the webhooks go round-robin to the
 *     nodes. The rate is W over the time from the first POST to the last `job.dispatch`, as in
 *     bench/dispatch.ts. All processes share this machine's cores and its one PostgreSQL: on a
 *     2-core machine three nodes cannot go faster than one, and the ratio shows the mesh's
 *     overhead (peer hops, three processes' fixed costs), not what scale-out would gain.
 *
 * Nodes log at `warn` (bench/dispatch.ts runs its orchestrator silent). Sizes come from
 * KICI_BENCH_MESH_SAMPLES (per kind, default 200), KICI_BENCH_MESH_WARMUP (per kind, 10),
 * KICI_BENCH_MESH_WEBHOOKS (1000), KICI_BENCH_MESH_CONCURRENCY (20), KICI_BENCH_MESH_ROUNDS (2 per
 * cluster), KICI_BENCH_MESH_AGENTS (6) and KICI_BENCH_MESH_SLOTS (16); the cluster timings of
 * bench/cluster-failover.ts are passed on likewise.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sleep, type Coordinator } from '../cluster/processes.js';
import { BenchRig, clusterTimings, envInt, lockfileRepo, maxOf, ms, percentile, PushSource, shardSpread, shuffle, webhookToDispatch, type BenchCluster } from './cluster-kit.js';
import type { BenchAgent } from './bench-agent.js';

const LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    { name: 'near', triggers: [{ _type: 'push', branches: ['near/*'] }], jobs: [{ name: 'noop', runsOn: ['near'], steps: [{ run: 'true' }] }] },
    { name: 'far', triggers: [{ _type: 'push', branches: ['far/*'] }], jobs: [{ name: 'noop', runsOn: ['far'], steps: [{ run: 'true' }] }] },
    { name: 'load', triggers: [{ _type: 'push', branches: ['load/*'] }], jobs: [{ name: 'noop', runsOn: ['bench'], steps: [{ run: 'true' }] }] },
  ],
};

/** Between two latency webhooks: the last job's slot report has reached the other nodes. */
const GAP_MS = 20;
const LOAD_TIMEOUT_MS = 120_000;

const progress = (line: string): void => {
  process.stderr.write(`[cluster-dispatch bench] ${line}\n`);
};

interface Sizes {
  samples: number;
  warmup: number;
  webhooks: number;
  concurrency: number;
  rounds: number;
  agents: number;
  slots: number;
}

function sizes(): Sizes {
  return {
    samples: envInt('KICI_BENCH_MESH_SAMPLES', 200),
    warmup: envInt('KICI_BENCH_MESH_WARMUP', 10, 0),
    webhooks: envInt('KICI_BENCH_MESH_WEBHOOKS', 1000),
    concurrency: envInt('KICI_BENCH_MESH_CONCURRENCY', 20),
    rounds: envInt('KICI_BENCH_MESH_ROUNDS', 2),
    agents: envInt('KICI_BENCH_MESH_AGENTS', 6),
    slots: envInt('KICI_BENCH_MESH_SLOTS', 16),
  };
}

// ---- (a) latency ---------------------------------------------------------------------------------

interface Kind {
  key: 'near' | 'far' | 'handed';
  label: string;
  /** Where the webhook goes, the branch prefix (its workflow's label) and the agent that must get the job. */
  to: Coordinator;
  prefix: string;
  agent: BenchAgent;
  samples: number[];
}

/** One webhook, one dispatch: ms from the POST to the agent holding job.dispatch. */
const sample = (source: PushSource, k: Kind): Promise<number> => webhookToDispatch(source, k.to, k.prefix, k.agent);

async function latency(rig: BenchRig, env: Record<string, string>, s: Sizes): Promise<{ kinds: Kind[]; spread: Record<string, number> }> {
  progress('(a) forming a cluster of 3, rebalancing off …');
  const c = await rig.form('lat', 3, { ...env, KICI_CLUSTER_REBALANCE_SHARDS_PER_SECOND: '0' }, 'warn');
  try {
    const [owner, other, third] = c.nodes;
    const spread = await c.shards((sp) => sp[owner.name] === 256);
    const source = await PushSource.add(owner, lockfileRepo(path.join(rig.root, 'repo-lat'), LOCKFILE));
    const near = await c.agent(owner, 'near-agent', ['near'], 1);
    const far = await c.agent(other, 'far-agent', ['far'], 1);
    const kinds: Kind[] = [
      { key: 'near', label: `pushed to the owner, agent on the owner (baseline)`, to: owner, prefix: 'near', agent: near, samples: [] },
      { key: 'far', label: `pushed to the owner, agent on ${other.name} (offered across)`, to: owner, prefix: 'far', agent: far, samples: [] },
      { key: 'handed', label: `pushed to ${third.name}, agent on the owner (run handed over)`, to: third, prefix: 'near', agent: near, samples: [] },
    ];
    // Warm-up: every node fetches its mirror and reads the lock file once; first connections.
    for (let i = 0; i < s.warmup; i++) for (const k of shuffle([...kinds])) await sample(source, k);
    progress(`(a) ${s.samples} webhooks per kind, interleaved …`);
    for (let i = 0; i < s.samples; i++) {
      for (const k of shuffle([...kinds])) {
        k.samples.push(await sample(source, k));
        await sleep(GAP_MS);
      }
    }
    near.close();
    far.close();
    return { kinds, spread };
  } finally {
    await c.stop();
  }
}

// ---- (b) throughput -------------------------------------------------------------------------------

interface Fleet {
  name: string;
  cluster: BenchCluster;
  source: PushSource;
  agents: BenchAgent[];
  nodeOfAgent: Map<string, string>;
}

interface Round {
  dispatchesPerSecond: number;
  acceptedPerSecond: number;
  /** 3 nodes: runs whose webhook reached a node that does not own them; jobs sent to an agent on another node than their run's owner. */
  handedOver?: number;
  crossed?: number;
}

async function fleet(rig: BenchRig, name: string, count: number, env: Record<string, string>, s: Sizes): Promise<Fleet> {
  const cluster = await rig.form(name, count, env, 'warn');
  if (count > 1) {
    progress(`(b) waiting for rebalancing to spread the shards over ${count} nodes …`);
    await cluster.shards((sp) => {
      const counts = cluster.nodes.map((n) => sp[n.name] ?? 0);
      return Math.max(...counts) - Math.min(...counts) <= 1;
    }, 120_000);
    // The database's fence rows follow the map: wait for them too, so no shard is mid-move.
    await waitForRows(cluster);
  }
  const source = await PushSource.add(cluster.founder, lockfileRepo(path.join(rig.root, `repo-${name}`), LOCKFILE));
  const agents: BenchAgent[] = [];
  for (let i = 0; i < s.agents; i++) agents.push(await cluster.agent(cluster.nodes[i % count], `${name}-agent-${i}`, ['bench'], s.slots));
  return { name, cluster, source, agents, nodeOfAgent: new Map(agents.map((a) => [a.agentId, a.node])) };
}

async function waitForRows(c: BenchCluster): Promise<void> {
  for (let i = 0; i < 240; i++) {
    const spread = await shardSpread(c.founder);
    const rows = await c.query<{ owner: string; n: string }>('SELECT owner_node AS owner, count(*)::text AS n FROM shards GROUP BY owner_node');
    if (rows.every((r) => spread[r.owner] === Number(r.n)) && rows.reduce((a, r) => a + Number(r.n), 0) === 256) return;
    await sleep(250);
  }
  throw new Error('the shards table never matched the replicated map');
}

async function load(f: Fleet, round: number, s: Sizes): Promise<Round> {
  // One path segment after `load/`: the trigger's `*` does not cross a `/`.
  const prefix = `load/${f.name}-${round}-${process.pid}`;
  const nodes = f.cluster.nodes;
  let dispatched = 0;
  let allDispatched!: () => void;
  const done = new Promise<void>((resolve) => (allDispatched = resolve));
  for (const a of f.agents) a.watch((d) => d.branch?.startsWith(`${prefix}-`) && ++dispatched === s.webhooks && allDispatched());
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: s.concurrency }, async () => {
      while (next < s.webhooks) {
        const i = next++;
        await f.source.push(nodes[i % nodes.length], `${prefix}-${i}`);
      }
    }),
  );
  const accepted = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${f.name}: ${dispatched}/${s.webhooks} dispatched after ${LOAD_TIMEOUT_MS / 1000} s`)), LOAD_TIMEOUT_MS);
  });
  await Promise.race([done, timedOut]).finally(() => clearTimeout(timer));
  const end = performance.now();
  for (const a of f.agents) a.watch(undefined);
  await Promise.all(f.agents.map((a) => a.drained()));
  const out: Round = { dispatchesPerSecond: (s.webhooks * 1000) / (end - start), acceptedPerSecond: (s.webhooks * 1000) / (accepted - start) };
  if (nodes.length > 1) {
    const rows = await f.cluster.query<{ branch: string; owner: string; agent: string | null }>(
      `SELECT r.branch, s.owner_node AS owner, j.agent_id AS agent FROM runs r JOIN shards s ON s.shard = r.shard JOIN jobs j ON j.run_id = r.id WHERE r.branch LIKE $1`,
      [`${prefix}-%`],
    );
    const receiver = (b: string) => nodes[Number(b.slice(prefix.length + 1)) % nodes.length].name;
    out.handedOver = rows.filter((r) => receiver(r.branch) !== r.owner).length / rows.length;
    out.crossed = rows.filter((r) => r.agent !== null && f.nodeOfAgent.get(r.agent) !== r.owner).length / rows.length;
  }
  return out;
}

async function throughput(rig: BenchRig, env: Record<string, string>, s: Sizes): Promise<{ one: Round[]; three: Round[]; spread: Record<string, number> }> {
  progress('(b) forming a cluster of 1 and a cluster of 3 (default rebalancing) …');
  const one = await fleet(rig, 'one', 1, env, s);
  const three = await fleet(rig, 'three', 3, env, s);
  const spread = await shardSpread(three.cluster.founder);
  const rounds = { one: [] as Round[], three: [] as Round[] };
  try {
    // A warm-up burst each: mirrors fetched, lock files cached, connections made.
    await load(one, 0, { ...s, webhooks: Math.min(s.webhooks, 60) });
    await load(three, 0, { ...s, webhooks: Math.min(s.webhooks, 60) });
    for (let r = 1; r <= s.rounds; r++) {
      // Alternate who goes first, so a drift in the machine's state hits both alike.
      for (const f of r % 2 ? [one, three] : [three, one]) {
        const res = await load(f, r, s);
        (f === one ? rounds.one : rounds.three).push(res);
        progress(`(b) round ${r}, ${f.cluster.nodes.length} node(s): ${res.dispatchesPerSecond.toFixed(0)} dispatches/s, accepted ${res.acceptedPerSecond.toFixed(0)}/s`);
      }
    }
  } finally {
    for (const f of [one, three]) for (const a of f.agents) a.close();
    await Promise.all([one.cluster.stop(), three.cluster.stop()]);
  }
  return { ...rounds, spread };
}

// ---- report -------------------------------------------------------------------------------------

export async function runClusterDispatchBench(): Promise<string> {
  const s = sizes();
  const timings = clusterTimings();
  const env: Record<string, string> = {
    ...Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, String(v)])),
    KICI_GIT_RECONCILE_INTERVAL_MS: '3600000',
  };
  const started = performance.now();
  const rig = await BenchRig.create('mesh');
  try {
    const lat = await latency(rig, env, s);
    const tput = await throughput(rig, env, s);
    return formatClusterDispatch(s, lat, tput, performance.now() - started);
  } finally {
    await rig.close();
  }
}

const median = (xs: number[]) => percentile(xs, 0.5);

export function formatClusterDispatch(
  s: Sizes,
  lat: { kinds: Kind[]; spread: Record<string, number> },
  tput: { one: Round[]; three: Round[]; spread: Record<string, number> },
  elapsedMs: number,
): string {
  const [near, far] = lat.kinds;
  const row = (k: Kind) => `    ${k.label.padEnd(62)} ${ms(percentile(k.samples, 0.5), 6, 1)} ${ms(percentile(k.samples, 0.99), 6, 1)} ${ms(maxOf(k.samples), 6, 1)}`;
  const diff = (p: number) => (percentile(far.samples, p) - percentile(near.samples, p)).toFixed(1);
  const rate = (r: Round) => `${r.dispatchesPerSecond.toFixed(0).padStart(5)} /s (accepted ${r.acceptedPerSecond.toFixed(0)}/s)`;
  const tRows = tput.one.map((o, i) => `    round ${i + 1}   1 node ${rate(o)}   3 nodes ${rate(tput.three[i])}`);
  const oneMed = median(tput.one.map((r) => r.dispatchesPerSecond));
  const threeMed = median(tput.three.map((r) => r.dispatchesPerSecond));
  const pct = (xs: (number | undefined)[]) => `${(100 * median(xs.filter((x): x is number => x !== undefined))).toFixed(0)} %`;
  const spread = (sp: Record<string, number>) =>
    Object.entries(sp)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([n, c]) => `${n} ${c}`)
      .join(', ');
  const lines = [
    `Webhook → job.dispatch across the mesh (kici-orchestrator processes on loopback, one PostgreSQL, nodes logging at warn; bench agents that finish each job at once; wall-clock ms)`,
    `  (a) latency, 3 nodes, rebalancing off (shards: ${spread(lat.spread)}); one idle 1-slot agent per kind; ${s.samples} webhooks per kind ` +
      `(KICI_BENCH_MESH_SAMPLES) after ${s.warmup} each to warm up, the three kinds interleaved in a random order, one at a time, ${GAP_MS} ms apart`,
    `    ${''.padEnd(62)} ${'p50'.padStart(6)} ${'p99'.padStart(6)} ${'max'.padStart(6)}`,
    ...lat.kinds.map(row),
    `    the mesh hop (agent on another node − agent on the owner): p50 ${diff(0.5)} ms, p99 ${diff(0.99)} ms`,
    `  (b) dispatch rate, ${s.webhooks} webhooks from ${s.concurrency} concurrent senders (KICI_BENCH_MESH_WEBHOOKS, _CONCURRENCY), ${s.agents} agents × ${s.slots} slots, ` +
      `${s.rounds} round${s.rounds === 1 ? '' : 's'} per cluster (KICI_BENCH_MESH_ROUNDS), alternating; 1 node: every agent on it; 3 nodes: shards ${spread(tput.spread)}, agents spread evenly, webhooks round-robin`,
    ...tRows,
    `    median    1 node ${oneMed.toFixed(0)} /s, 3 nodes ${threeMed.toFixed(0)} /s (3 nodes ÷ 1 node = ${(threeMed / oneMed).toFixed(2)})`,
    `    3 nodes: ${pct(tput.three.map((r) => r.handedOver))} of runs were pushed to a node that does not own them and handed over; ` +
      `${pct(tput.three.map((r) => r.crossed))} of jobs went to an agent on another node than their run's owner`,
    `    every node shares this machine's ${availableParallelism()} cores and its one PostgreSQL: three nodes on one host show the mesh's overhead, not the gain of scale-out`,
    `  (the bench took ${(elapsedMs / 1000).toFixed(0)} s)`,
  ];
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runClusterDispatchBench().then(
    (text) => {
      process.stdout.write(`${text}\n`);
      process.exit(0);
    },
    (e: Error) => {
      process.stderr.write(`cluster-dispatch bench failed: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
