/**
 * `npm run bench -- cluster-reown`: the leader killed -9 while it owns runs that are about to
 * dispatch their next job; how long until every one of those orphaned runs is owned again and its
 * next job has reached an agent.
 *
 * Three `kici-orchestrator` processes on loopback share one throw-away PostgreSQL, rebalancing off
 * (KICI_CLUSTER_REBALANCE_SHARDS_PER_SECOND=0), so shards move only when a node dies: the founder
 * leads and owns all 256 at first; a killed leader's shards go to the two survivors, and its restart
 * gets none back. Each trial:
 *
 * 1. The three agree on a leader (then a 1 s pause, and they agree again). The leader is the
 *    victim; the shards the database gives it are the ones its death orphans.
 * 2. A bench agent labelled `bench` connects to each of the two other nodes (agents sit on the
 *    non-leaders only). Pushes are posted to the leader until N runs (KICI_BENCH_REOWN_RUNS,
 *    default 8) sit on the leader's shards. Each run has two jobs: `first` (runs-on `bench`) and
 *    `next` (needs `first`, runs-on `reown`). `first` goes across the mesh to a bench agent and
 *    succeeds at once; `next` is then released and waits in its owner's dispatch queue, because no
 *    agent anywhere has the label `reown`. The bench waits until the database shows every run so
 *    (`first` success, `next` queued with no agent). Runs the pushes made on other nodes' shards
 *    are cancelled first, so the leader's are the only ones waiting.
 * 3. The leader is killed -9 (the clock starts just before the signal). At once a bench agent
 *    labelled `reown` connects to each survivor: a run's `next` job can go only to those agents,
 *    and only a survivor can send it, after the new leader has placed the dead node's shards on
 *    the survivors and the one gaining a shard has raised its row and woken its runs from the
 *    store. The agents are registered tens of milliseconds after the kill, long before any node
 *    can act on the runs (the re-own needs the peer stale timeout, 1.5 s by default, to pass
 *    first); the table shows when they were registered, and a trial whose agents registered after
 *    the new leader placed the shards counts as failed.
 * 4. Measured, wall clock of this process: kill → each orphan's `job.dispatch` for `next`
 *    arriving at an agent. THE FIGURE is kill → the last of them (every orphaned run re-owned and
 *    its next job dispatched). Cross-checks: kill → the last `next` job's `started_at` in the
 *    database (the new owner's clock: the agent's `running` report processed; same host, same
 *    clock); kill → the new leader's log line "shards placed" (the decision) and → the last
 *    survivor's "shards gained: resuming unfinished runs" (the raise and the reload done). Every
 *    dispatch frame must carry a shard epoch above the one the victim held (proof it came from a
 *    new owner), and each orphan must get exactly one dispatch.
 * 5. The killed node is restarted on its data directory and ports; the next trial starts once the
 *    three agree again. Trials time out after 30 s.
 *
 * (`jobs.dispatched_at` is no use here: kici sets it when a job is first queued, before the kill,
 * and keeps it across requeues, as the queue deadline counts from it.)
 *
 * KICI_BENCH_REOWN_TRIALS (else KICI_BENCH_CLUSTER_TRIALS, else 20) sets the trials; the timings
 * of bench/cluster-failover.ts (KICI_CLUSTER_RAFT_*, KICI_CLUSTER_PEER_*) are passed on likewise.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { agreement, waitUntil, type Coordinator } from '../cluster/processes.js';
import { BenchRig, clusterTimings, describeTimings, envInt, lockfileRepo, maxOf, ms, percentile, PushSource, tails, type BenchCluster, type Timing } from './cluster-kit.js';
import { BenchAgent, type SeenDispatch } from './bench-agent.js';

const TRIAL_TIMEOUT_MS = 30_000;
/** Pause once the three agree, so a restarted node's start-up work is over before the next kill. */
const SETTLE_MS = 1000;
/** Pushes per trial before giving up on getting N runs onto the leader's shards. */
const MAX_PUSHES_PER_RUN = 20;

const LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    {
      name: 'reown',
      triggers: [{ _type: 'push', branches: ['reown/*'] }],
      jobs: [
        { name: 'first', runsOn: ['bench'], steps: [{ run: 'true' }] },
        { name: 'next', runsOn: ['reown'], needs: ['first'], steps: [{ run: 'true' }] },
      ],
    },
  ],
};

interface Trial {
  victim: string;
  /** Shards the database gave the victim before the kill. */
  victimShards: number;
  orphans: number;
  /** Runs the pushes made on other nodes' shards, cancelled before the kill. */
  cancelled: number;
  /** ms from the kill: the first and the last orphan's `next` dispatch at an agent. */
  first?: number;
  all?: number;
  /** ms from the kill to the last `next` job's started_at in the database. */
  startedInDb?: number;
  /** ms from the kill to the new leader's "shards placed" and the last survivor's "shards gained" log lines. */
  placed?: number;
  gained?: number;
  placedBy?: string;
  /** ms from the kill until both `reown` agents were registered. */
  agentsAt?: number;
  dispatched: number;
  failure?: string;
  /** ms from restarting the victim until three connected voters agreed on a leader. */
  rejoin?: number;
}

interface RunRow {
  id: string;
  owner: string;
  epoch: number;
  first: string;
  next: string;
  nextAgent: string | null;
  status: string;
}

const progress = (line: string): void => {
  process.stderr.write(`[cluster-reown bench] ${line}\n`);
};

function trialCount(): number {
  return process.env.KICI_BENCH_REOWN_TRIALS ? envInt('KICI_BENCH_REOWN_TRIALS', 20) : envInt('KICI_BENCH_CLUSTER_TRIALS', 20);
}

/** The runs of `branches` with their shard's owner and epoch as the database has them, and their two jobs. */
async function runRows(c: BenchCluster, branches: string[]): Promise<RunRow[]> {
  return c.query<RunRow>(
    `SELECT r.id, s.owner_node AS owner, s.epoch, f.status AS first, n.status AS next, n.agent_id AS "nextAgent", r.status
       FROM runs r
       JOIN shards s ON s.shard = r.shard
       JOIN jobs f ON f.run_id = r.id AND f.name = 'first'
       JOIN jobs n ON n.run_id = r.id AND n.name = 'next'
      WHERE r.branch = ANY($1::text[]) OR r.ref = ANY($2::text[])`,
    [branches, branches.map((b) => `refs/heads/${b}`)],
  );
}

/** The first line at or after `sinceWall` (epoch ms) whose msg is `msg`, from a pino JSON log. */
function logTime(file: string, msg: string, sinceWall: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.includes(msg)) continue;
    try {
      const entry = JSON.parse(line) as { time?: number; msg?: string };
      if (entry.msg === msg && typeof entry.time === 'number' && entry.time >= sinceWall) return entry.time;
    } catch {
      // A line cut short by the kill.
    }
  }
  return undefined;
}

let pushes = 0;

/** Pushes through the leader until `wanted` runs sit on its shards, each with `first` done and `next` waiting; the others cancelled. */
async function prepareOrphans(c: BenchCluster, source: PushSource, victim: Coordinator, wanted: number, victimShards: number): Promise<{ orphans: RunRow[]; cancelled: number }> {
  const branches: string[] = [];
  let rows: RunRow[] = [];
  for (;;) {
    const onVictim = rows.filter((r) => r.owner === victim.name).length;
    if (onVictim >= wanted) break;
    if (branches.length >= wanted * MAX_PUSHES_PER_RUN) throw new Error(`${branches.length} pushes made only ${onVictim} runs on ${victim.name}'s ${victimShards} shards`);
    // Enough pushes that, by the share of shards the leader holds, the rest should land on it.
    const batch = Math.max(1, Math.ceil(((wanted - onVictim) * 256) / Math.max(victimShards, 1)));
    const fresh = Array.from({ length: batch }, () => `reown/${process.pid}-${++pushes}`);
    for (const b of fresh) await source.push(victim, b);
    branches.push(...fresh);
    rows = await waitUntil(
      `the runs of ${branches.length} pushes to have run "first" and to queue "next"`,
      async () => {
        const found = await runRows(c, branches);
        return found.length === branches.length && found.every((r) => r.first === 'success' && r.next === 'queued' && r.nextAgent === null) ? found : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50, describe: async () => JSON.stringify(await runRows(c, branches)) },
    );
  }
  const others = rows.filter((r) => r.owner !== victim.name);
  for (const r of others) await victim.api('POST', `/runs/${r.id}/cancel`, { force: true });
  if (others.length) {
    const ids = new Set(others.map((r) => r.id));
    await waitUntil(
      `the ${others.length} runs on other nodes' shards to be cancelled`,
      async () => ((await runRows(c, branches)).filter((r) => ids.has(r.id)).every((r) => r.status === 'cancelled') ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 50 },
    );
  }
  // Every run on the leader's shards is an orphan once it dies (a batch may overshoot `wanted`).
  return { orphans: rows.filter((r) => r.owner === victim.name), cancelled: others.length };
}

/** Best effort: every unfinished run cancelled through `via`, then a wait for them to end. */
async function cancelLeftovers(c: BenchCluster, via: Coordinator): Promise<void> {
  const unfinished = async () => c.query<{ id: string }>(`SELECT id FROM runs WHERE status NOT IN ('success', 'failed', 'cancelled')`);
  try {
    for (const r of await unfinished()) await via.api('POST', `/runs/${r.id}/cancel`, { force: true }).catch(() => undefined);
    await waitUntil('the runs a failed trial left to end', async () => ((await unfinished()).length === 0 ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 });
  } catch (e) {
    progress(`could not clear up after a failed trial: ${(e as Error).message}`);
  }
}

async function trial(c: BenchCluster, source: PushSource, k: number, wanted: number): Promise<Trial> {
  const leader = await c.steady(SETTLE_MS);
  const victim = c.node(leader);
  const survivors = c.nodes.filter((n) => n !== victim);
  const owned = await c.query<{ n: string }>('SELECT count(*)::text AS n FROM shards WHERE owner_node = $1', [victim.name]);
  const victimShards = Number(owned[0]?.n ?? 0);
  const t: Trial = { victim: victim.name, victimShards, orphans: 0, cancelled: 0, dispatched: 0 };
  if (victimShards === 0) {
    t.failure = `the leader ${victim.name} owns no shards`;
    return t;
  }

  const workers: BenchAgent[] = [];
  const reown: BenchAgent[] = [];
  try {
    workers.push(...(await Promise.all(survivors.map((s) => c.agent(s, `first-${k}-${s.name}`, ['bench'], 64)))));
    const { orphans, cancelled } = await prepareOrphans(c, source, victim, wanted, victimShards);
    t.orphans = orphans.length;
    t.cancelled = cancelled;
    const epochBefore = new Map(orphans.map((r) => [r.id, r.epoch]));
    const arrivals = new Map<string, SeenDispatch[]>();
    let strays = 0;
    let allArrived!: () => void;
    const arrived = new Promise<void>((resolve) => (allArrived = resolve));
    const onDispatch = (d: SeenDispatch) => {
      if (!epochBefore.has(d.runId)) {
        strays++;
        return;
      }
      const list = arrivals.get(d.runId) ?? [];
      list.push(d);
      arrivals.set(d.runId, list);
      if (arrivals.size === epochBefore.size) allArrived();
    };
    // Tokens before the kill: the agents then only connect.
    const tokens = await Promise.all(survivors.map((s) => s.api<{ token: string }>('POST', '/agent-tokens', { name: `reown-${k}-${s.name}` })));

    const killedWall = Date.now();
    const killedAt = performance.now();
    victim.proc!.child.kill('SIGKILL');
    const registered = Promise.all(
      survivors.map((s, i) => {
        const agent = new BenchAgent(s.name, s.wsUrl, tokens[i].token, `reown-${k}-${s.name}`, ['reown'], wanted);
        agent.watch(onDispatch);
        reown.push(agent);
        return agent.connect();
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), TRIAL_TIMEOUT_MS)));
    const outcome = await Promise.race([Promise.all([arrived, registered]).then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    t.agentsAt = reown.every((a) => !Number.isNaN(a.registeredAt)) ? Math.max(...reown.map((a) => a.registeredAt)) - killedAt : undefined;

    const firsts = [...arrivals.values()].map((list) => list[0].at - killedAt);
    t.dispatched = arrivals.size;
    if (firsts.length) t.first = Math.min(...firsts);
    if (outcome === 'done') t.all = Math.max(...firsts);
    else t.failure = `${arrivals.size}/${orphans.length} orphans dispatched within ${TRIAL_TIMEOUT_MS / 1000} s`;

    await victim.proc!.exited;
    const placedWall = Math.min(...survivors.map((s) => logTime(s.logFile, 'shards placed', killedWall) ?? Infinity));
    const placer = survivors.find((s) => logTime(s.logFile, 'shards placed', killedWall) === placedWall);
    const gainedWall = survivors.map((s) => logTime(s.logFile, 'shards gained: resuming unfinished runs', killedWall));
    if (Number.isFinite(placedWall)) {
      t.placed = placedWall - killedWall;
      t.placedBy = placer?.name;
    }
    if (gainedWall.some((g) => g !== undefined)) t.gained = Math.max(...gainedWall.filter((g): g is number => g !== undefined)) - killedWall;

    if (!t.failure) {
      const problems: string[] = [];
      const twice = [...arrivals.values()].filter((list) => list.length > 1).length;
      if (twice) problems.push(`${twice} orphans dispatched more than once`);
      const stale = [...arrivals.entries()].filter(([runId, list]) => list.some((d) => d.epoch <= epochBefore.get(runId)!)).length;
      if (stale) problems.push(`${stale} dispatches carried the victim's shard epoch`);
      if (strays) problems.push(`${strays} dispatches of runs that were not orphans`);
      if (t.agentsAt === undefined || (t.placed !== undefined && t.agentsAt >= t.placed)) problems.push(`the reown agents registered ${t.agentsAt?.toFixed(0)} ms after the kill, not before the shards were placed (${t.placed} ms)`);
      // Every orphan finishes, and its `next` started (the running report processed) on the new owner's clock.
      const ids = orphans.map((r) => r.id);
      const done = await waitUntil(
        `the ${ids.length} orphaned runs to succeed`,
        async () => {
          const rows = await c.query<{ status: string; started: Date | null }>(
            `SELECT r.status, n.started_at AS started FROM runs r JOIN jobs n ON n.run_id = r.id AND n.name = 'next' WHERE r.id = ANY($1::uuid[])`,
            [ids],
          );
          return rows.length === ids.length && rows.every((r) => r.status === 'success') ? rows : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      ).catch((e: Error) => {
        problems.push(e.message);
        return undefined;
      });
      if (done) t.startedInDb = Math.max(...done.map((r) => r.started!.getTime())) - killedWall;
      if (problems.length) t.failure = problems.join('; ');
    }
  } catch (e) {
    t.failure = (e as Error).message;
  } finally {
    for (const a of [...workers, ...reown]) a.close();
  }
  // A failed trial may leave runs waiting: cancelled, so the next trial's agents see only its own.
  if (t.failure) await cancelLeftovers(c, survivors[0]);

  // A trial that failed before its kill leaves the leader running.
  if (victim.running) return t;
  const restartedAt = performance.now();
  await victim.start();
  await waitUntil('the killed node back among three connected voters', () => agreement(c.nodes, c.nodes.map((n) => n.name)), {
    timeoutMs: 60_000,
    intervalMs: 20,
    describe: () => tails(c.nodes),
  });
  t.rejoin = performance.now() - restartedAt;
  return t;
}

export async function runClusterReownBench(): Promise<string> {
  const trials = trialCount();
  const wanted = envInt('KICI_BENCH_REOWN_RUNS', 8);
  const timings = clusterTimings();
  const rig = await BenchRig.create('reown');
  const results: Trial[] = [];
  const started = performance.now();
  try {
    const env: Record<string, string> = {
      ...Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, String(v)])),
      KICI_CLUSTER_REBALANCE_SHARDS_PER_SECOND: '0',
      // No reconcile pass: every run is one a push of the bench made.
      KICI_GIT_RECONCILE_INTERVAL_MS: '3600000',
    };
    progress(`forming a cluster of 3 (rebalancing off) …`);
    const c = await rig.form('node', 3, env);
    const source = await PushSource.add(c.founder, lockfileRepo(path.join(rig.root, 'repo'), LOCKFILE));
    for (let i = 1; i <= trials; i++) {
      const t = await trial(c, source, i, wanted);
      results.push(t);
      const v = (x?: number) => (x === undefined ? '-' : `${Math.round(x)} ms`);
      progress(
        `trial ${i}/${trials}: killed ${t.victim} (${t.victimShards} shards, ${t.orphans} orphaned runs, ${t.cancelled} others cancelled); ` +
          `agents registered ${v(t.agentsAt)}, shards placed ${v(t.placed)}${t.placedBy ? ` by ${t.placedBy}` : ''}, gained ${v(t.gained)}, ` +
          `first dispatch ${v(t.first)}, every orphan dispatched ${v(t.all)}, started in the database ${v(t.startedInDb)}; rejoined ${v(t.rejoin)}` +
          (t.failure ? `; FAILED: ${t.failure}` : ''),
      );
    }
  } finally {
    await rig.close();
  }
  return formatReown(results, timings, wanted, performance.now() - started);
}

export function formatReown(trials: readonly Trial[], timings: Record<Timing, number>, wanted: number, elapsedMs: number): string {
  const ok = trials.filter((t) => !t.failure);
  const failed = trials.filter((t) => t.failure);
  const col = (pick: (t: Trial) => number | undefined) => ok.map(pick).filter((v): v is number => v !== undefined);
  const row = (label: string, vals: number[]) =>
    `  ${label.padEnd(62)} ${ms(percentile(vals, 0.5))} ${ms(percentile(vals, 0.99))} ${ms(maxOf(vals))}   (${vals.length})`;
  const all = col((t) => t.all);
  const counts = trials.map((t) => t.orphans).filter((n) => n > 0);
  const orphanRange = counts.length ? (Math.min(...counts) === Math.max(...counts) ? `${counts[0]}` : `${Math.min(...counts)}–${Math.max(...counts)}`) : '0';
  const shardCounts = [...new Set(trials.map((t) => t.victimShards))].sort((a, b) => b - a).join('/');
  const lines = [
    `Orphaned runs re-owned after the leader is killed -9 (3 kici-orchestrator processes on loopback, one PostgreSQL, rebalancing off; ` +
      `${trials.length} trials, ${orphanRange} orphaned runs each (at least KICI_BENCH_REOWN_RUNS=${wanted}); wall-clock ms from the kill; trials: KICI_BENCH_REOWN_TRIALS or KICI_BENCH_CLUSTER_TRIALS)`,
    `  ${describeTimings(timings)}; the victim owned ${shardCounts} of 256 shards; the agents that can take the orphans' next job sit on the survivors`,
    `  ${''.padEnd(62)} ${'p50'.padStart(6)} ${'p99'.padStart(6)} ${'max'.padStart(6)}   (trials)`,
    row('kill → both re-own agents registered (not part of the figure)', col((t) => t.agentsAt)),
    row('kill → new leader places the dead node\'s shards (its log)', col((t) => t.placed)),
    row('kill → last survivor raised its shards and woke the runs (log)', col((t) => t.gained)),
    row('kill → first orphan\'s next job at an agent', col((t) => t.first)),
    row('kill → EVERY orphan re-owned, next job at an agent', all),
    row('kill → every orphan\'s next job started (database started_at)', col((t) => t.startedInDb)),
    row('restart → the killed node back among 3 voters', col((t) => t.rejoin)),
    `  every orphan dispatched, each trial (ms): ${all.map((v) => Math.round(v)).join(' ')}`,
    `  failed trials: ${failed.length}${failed.map((t, i) => `${i ? ';' : ':'} ${t.victim}: ${t.failure}`).join('')}`,
    `  goal p99 < 2 s; kici here: p50 ${(percentile(all, 0.5) / 1000).toFixed(2)} s, p99 ${(percentile(all, 0.99) / 1000).toFixed(2)} s ` +
      `(with ${ok.length} trials p99 is the ${ok.length >= 100 ? '99th percentile' : 'maximum'}). KiCI: 5–10 s to elect, then its orphan scan every 60 s.`,
    `  (the bench took ${(elapsedMs / 1000).toFixed(0)} s)`,
  ];
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runClusterReownBench().then(
    (text) => {
      process.stdout.write(`${text}\n`);
      process.exit(0);
    },
    (e: Error) => {
      process.stderr.write(`cluster-reown bench failed: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
