/**
 * Real leader failover: three kici-orchestrator processes on loopback sharing one throw-away
 * PostgreSQL form a cluster; then, trial after trial, the leader is killed -9 and the time from the
 * kill until both survivors name the same new leader on /cluster/health (polled every 10 ms), and
 * until both answer 200 on /ready under it, is measured; the killed node is restarted on its data
 * directory and ports, and the next trial waits for three connected voters to agree on a leader.
 * Wall-clock time on this machine: processes, TLS on loopback, the database round trips included.
 *
 * KICI_BENCH_CLUSTER_TRIALS sets the number of trials (default 20); KICI_CLUSTER_RAFT_HEARTBEAT_MS,
 * KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS/_MAX_MS, KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS and
 * KICI_CLUSTER_PEER_STALE_TIMEOUT_MS in the bench's environment are passed on to the nodes.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { agreement, Coordinator, freePort, sleep, Supervisor, waitUntil, type ClusterHealth } from '../cluster/processes.js';
import { testPostgres } from '../test/support/postgres.js';
import { clusterTimings, describeTimings, type Timing } from './cluster-kit.js';
import { soloElections } from './cluster-solo.js';

const POLL_MS = 10;
/** A trial without an agreed new leader after this long counts as failed. */
const TRIAL_TIMEOUT_MS = 30_000;
/** Pause once the three agree again, so the restarted node's start-up work is over before the next kill. */
const SETTLE_MS = 1000;

function trialCount(): number {
  const raw = process.env.KICI_BENCH_CLUSTER_TRIALS;
  const n = raw === undefined || raw === '' ? 20 : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`KICI_BENCH_CLUSTER_TRIALS=${raw}: must be a whole number ≥ 1`);
  return n;
}

interface Trial {
  victim: string;
  newLeader?: string;
  /** ms from the kill until both survivors named the same new leader. */
  toLeader?: number;
  /** ms from the kill until both survivors answered 200 on /ready under that leader. */
  toReady?: number;
  termBefore: number;
  termAfter?: number;
  /** Whether a survivor reported itself out of quorum (ready: false) on /cluster/health meanwhile. */
  unreadySeen: boolean;
  /** ms from restarting the killed node until three connected voters agreed on a leader. */
  rejoin?: number;
}

const progress = (line: string): void => {
  process.stderr.write(`[cluster bench] ${line}\n`);
};

/** Three connected voters agree on one leader, all in quorum; then a pause and the same again. */
async function steady(nodes: Coordinator[], timeoutMs = 60_000): Promise<ClusterHealth> {
  const names = nodes.map((n) => n.name);
  const what = 'three connected voters to agree on a leader';
  await waitUntil(what, () => agreement(nodes, names), { timeoutMs, intervalMs: 50, describe: () => tails(nodes) });
  await sleep(SETTLE_MS);
  return waitUntil(what, () => agreement(nodes, names), { timeoutMs, intervalMs: 50, describe: () => tails(nodes) });
}

function tails(nodes: Coordinator[]): string {
  return nodes.map((n) => `--- ${n.name} (${n.logFile}):\n${n.proc?.tail(12) ?? ''}`).join('\n');
}

async function trial(nodes: Coordinator[]): Promise<Trial> {
  const before = await steady(nodes);
  const victim = nodes.find((n) => n.name === before.leader!.node)!;
  const survivors = nodes.filter((n) => n !== victim);
  const t: Trial = { victim: victim.name, termBefore: before.term, unreadySeen: false };

  const killedAt = performance.now();
  victim.proc!.child.kill('SIGKILL');
  for (;;) {
    const views = await Promise.all(survivors.map((s) => s.health(1000).catch(() => undefined)));
    const now = performance.now();
    if (views.some((v) => v && !v.ready)) t.unreadySeen = true;
    if (t.toLeader === undefined) {
      const leader = views[0]?.leader?.node;
      if (leader && leader !== victim.name && views.every((v) => v?.leader?.node === leader)) {
        t.toLeader = now - killedAt;
        t.newLeader = leader;
        t.termAfter = views[0]!.term;
      }
    }
    if (t.toLeader !== undefined) {
      const codes = await Promise.all(survivors.map((s) => s.ready(1000).catch(() => 0)));
      if (codes.every((c) => c === 200)) {
        t.toReady = performance.now() - killedAt;
        break;
      }
    }
    if (now - killedAt > TRIAL_TIMEOUT_MS) break;
    await sleep(POLL_MS);
  }
  await victim.proc!.exited;

  const restartedAt = performance.now();
  await victim.start();
  await waitUntil('the killed node back among three connected voters', () => agreement(nodes, nodes.map((n) => n.name)), {
    timeoutMs: 60_000,
    intervalMs: 20,
    describe: () => tails(nodes),
  });
  t.rejoin = performance.now() - restartedAt;
  return t;
}

/** Nearest-rank percentile of `values` (p in 0–1). */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export async function runClusterFailoverBench(): Promise<string> {
  const trials = trialCount();
  const raft = clusterTimings();
  const root = mkdtempSync(path.join(tmpdir(), 'kici-bench-cluster-'));
  chmodSync(root, 0o755);
  const supervisor = new Supervisor(path.join(root, 'run'), `rm -rf '${root}'`);
  const nodes: Coordinator[] = [];
  // Ctrl-C or SIGTERM: exit through the exit hooks, which kill the nodes and stop PostgreSQL.
  const onSignal = (signal: NodeJS.Signals) => {
    supervisor.killAllSync();
    rmSync(root, { recursive: true, force: true });
    process.stderr.write(`cluster bench: ${signal}, stopped\n`);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const pg = await testPostgres();
  const results: Trial[] = [];
  try {
    const databaseUrl = await pg.createDatabase();
    const env = Object.fromEntries(Object.entries(raft).map(([k, v]) => [k, String(v)]));
    for (let i = 1; i <= 3; i++) {
      const spec = { name: `node-${i}`, dataDir: path.join(root, `node-${i}`), httpPort: await freePort(), clusterPort: await freePort(), env };
      nodes.push(new Coordinator(spec, supervisor));
    }
    const [founder, ...joiners] = nodes;
    founder.spec.databaseUrl = databaseUrl;
    progress('forming a cluster of 3 …');
    await founder.start();
    for (const n of joiners) {
      n.spec.join = { token: await founder.joinToken(), peers: [founder.address] };
      n.spec.adminToken = founder.adminToken;
    }
    await Promise.all(joiners.map((n) => n.start()));

    for (let i = 1; i <= trials; i++) {
      const t = await trial(nodes);
      results.push(t);
      const ms = (v?: number) => (v === undefined ? 'never' : `${Math.round(v)} ms`);
      progress(
        `trial ${i}/${trials}: killed ${t.victim} (term ${t.termBefore}); ${t.newLeader ?? 'no one'} leads after ${ms(t.toLeader)} (term ${t.termAfter ?? '-'}), ` +
          `both ready after ${ms(t.toReady)}; ${t.victim} back as a voter ${ms(t.rejoin)} after its restart`,
      );
    }
  } finally {
    await Promise.all(nodes.map((n) => n.stop(10_000)));
    supervisor.release();
    rmSync(root, { recursive: true, force: true });
    await pg.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const solo = await soloElections();
  const ms = (v: number) => v.toFixed(1);
  return `${formatClusterFailover(results, raft)}\n  one node alone, Raft log opened → leader (20 trials): p50 ${ms(solo.p50)} ms, p99 ${ms(solo.p99)} ms, max ${ms(solo.max)} ms (goal < 100 ms)`;
}

export function formatClusterFailover(trials: readonly Trial[], raft: Record<Timing, number>): string {
  const elected = trials.filter((t) => t.toLeader !== undefined);
  const toLeader = elected.map((t) => t.toLeader!);
  const toReady = trials.filter((t) => t.toReady !== undefined).map((t) => t.toReady!);
  const rejoin = trials.filter((t) => t.rejoin !== undefined).map((t) => t.rejoin!);
  const ms = (v: number) => (Number.isNaN(v) ? '-' : String(Math.round(v))).padStart(6);
  const row = (label: string, vals: number[]) =>
    `  ${label.padEnd(42)} ${ms(percentile(vals, 0.5))} ${ms(percentile(vals, 0.99))} ${ms(vals.length ? Math.max(...vals) : Number.NaN)}   (${vals.length} trials)`;
  const winners = new Map<string, number>();
  for (const t of elected) winners.set(t.newLeader!, (winners.get(t.newLeader!) ?? 0) + 1);
  const termSteps = new Map<number, number>();
  for (const t of elected) termSteps.set(t.termAfter! - t.termBefore, (termSteps.get(t.termAfter! - t.termBefore) ?? 0) + 1);
  const failed = trials.length - elected.length;
  const lines = [
    `Cluster leader failover (3 kici-orchestrator processes on loopback, one PostgreSQL; the leader killed -9, ${trials.length} trials; wall-clock ms)`,
    `  raft: ${describeTimings(raft)}; /cluster/health polled every ${POLL_MS} ms`,
    `  ${''.padEnd(42)} ${'p50'.padStart(6)} ${'p99'.padStart(6)} ${'max'.padStart(6)}`,
    row('kill → new leader agreed (both)', toLeader),
    row('kill → both survivors ready (/ready 200)', toReady),
    row('restart → back among 3 voters', rejoin),
    `  kill → new leader, every trial (ms): ${toLeader.map((v) => Math.round(v)).join(' ')}`,
    `  new leaders: ${[...winners].sort().map(([n, c]) => `${n} ×${c}`).join(', ')}; term advanced by ${[...termSteps].sort((a, b) => a[0] - b[0]).map(([d, c]) => `${d} in ${c}`).join(', ')}; ` +
      `a survivor reported itself out of quorum in ${trials.filter((t) => t.unreadySeen).length}/${trials.length} trials` +
      (failed > 0 ? `; ${failed} TRIALS WITHOUT A NEW LEADER within ${TRIAL_TIMEOUT_MS / 1000} s` : ''),
    `  comparison: KiCI elects in 5–10 s; kici here: p50 ${(percentile(toLeader, 0.5) / 1000).toFixed(2)} s, max ${(toLeader.length ? Math.max(...toLeader) / 1000 : Number.NaN).toFixed(2)} s`,
  ];
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runClusterFailoverBench().then(
    (text) => {
      process.stdout.write(`${text}\n`);
      process.exit(0);
    },
    (e: Error) => {
      process.stderr.write(`cluster bench failed: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
