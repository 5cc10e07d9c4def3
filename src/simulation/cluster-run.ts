/**
 * One seed of the cluster simulation, start to end: draw the scenario, build the world (one event
 * loop, the seeded network, the shared in-memory store, the nodes and their agents), play the
 * workload and the faults, heal everything, let the cluster quiesce, and judge the invariants.
 * The run depends only on the seed, the options and the code.
 */
import { SimRandom } from '../raft/index.js';
import { MemoryRunStore, groupKey, groupOf, isTerminalJobStatus, type AcceptedWrite, type JobStatus, type RunStore } from '../runs/index.js';
import { ClusterChecker, type Violation } from './checker.js';
import type { Joiner } from './coordinator.js';
import { SimLoop } from './loop.js';
import { SimNetwork } from './network.js';
import { scheduleFaults } from './faults.js';
import { DEFAULT_SHAPE, describeScenario, drawScenario, type ClusterScenario, type ScenarioShape } from './scenario.js';
import { SimAgent, type ExecutionWatch } from './sim-agent.js';
import { DEFAULT_TIMING, SimNode, type ClusterTiming, type NodeWorld } from './sim-node.js';
import { Trace } from './trace.js';
import { runRows } from './workload.js';

export interface ClusterRunOptions {
  shape?: Partial<ScenarioShape>;
  timing?: Partial<ClusterTiming>;
  /** Print every trace line as it happens. */
  echo?(line: string): void;
  /**
   * Break the store's fence on purpose (the store takes a write at any epoch while the shard has a
   * row), to show the checker catches what the fence prevents.
   */
  brokenFence?: boolean;
  /** After healing, how long the cluster gets to finish every run (virtual ms). */
  quiesceMs?: number;
}

/** The options a seed was run with, as command-line flags (for its replay command). */
export function runFlags(o: ClusterRunOptions): string[] {
  return [...(o.shape?.network === 'lossy' ? ['--lossy'] : []), ...(o.brokenFence ? ['--broken-fence'] : [])];
}

export interface ClusterSeedResult {
  seed: number;
  ok: boolean;
  violations: Violation[];
  /** What breaks no invariant but is worth knowing (see findings.ts NOTES). */
  notes: Violation[];
  /** Violations found, including those not kept. */
  violationCount: number;
  digest: string;
  scenario: ClusterScenario;
  schedule: string;
  trace: readonly string[];
  /** `grouped`: runs whose workflow has a `concurrency` group; `peakAdmitted`: the most of one group admitted at once. */
  runs: { planned: number; created: number; terminal: number; grouped: number; peakAdmitted: number };
  writes: number;
  executions: number;
  events: number;
  /** Virtual ms the seed ran for. */
  virtualMs: number;
}

const RETRY_CREATE_MS = 500;

export async function runClusterSeed(seed: number, options: ClusterRunOptions = {}): Promise<ClusterSeedResult> {
  const rng = new SimRandom(seed);
  const scenario = drawScenario(seed, rng.fork('scenario'), { ...DEFAULT_SHAPE, ...options.shape });
  const loop = new SimLoop();
  const trace = new Trace(() => loop.elapsed(), options.echo);
  const checker = new ClusterChecker(() => loop.elapsed());
  const store = new MemoryRunStore({ shards: [], onWrite: (w) => written(w), fence: options.brokenFence ? 'broken' : 'per-shard' });
  const written = (w: AcceptedWrite) => {
    checker.storeWrite(w);
    if (w.runId && (w.kind === 'run_created' || w.kind === 'run_started' || w.kind === 'run_cancelling' || w.kind === 'run_completed')) {
      const run = store.runs.get(w.runId)?.run;
      const group = run && groupOf(run);
      if (run) checker.runStatus(run.id, run.status, group && run.concurrency ? { key: groupKey(group), max: run.concurrency.max } : null);
    }
    if (w.kind === 'run_created' || w.kind === 'run_completed') trace.line(`store: ${w.kind} ${w.runId} by ${w.node} at ${w.shard}@${w.epoch}`);
  };
  const net = new SimNetwork(loop, rng.fork('network'), scenario.network);
  const timing: ClusterTiming = { ...DEFAULT_TIMING, ...options.timing };
  const joiners: Joiner[] = scenario.nodes.filter((n) => n.joinAt > 0).map((n) => ({ node: n.id, raftId: n.raftId, at: n.joinAt }));
  const views = new Map<string, RunStore>();
  const world: NodeWorld = {
    loop,
    net,
    rng: rng.fork('nodes'),
    store,
    checker,
    timing,
    raftIds: new Map(scenario.nodes.map((n) => [n.id, n.raftId])),
    joiners,
    trace: (line) => trace.line(line),
    runStore: (node) => views.get(node) ?? views.set(node, store.as(node)).get(node)!,
  };
  const nodes = new Map(scenario.nodes.map((n) => [n.id, new SimNode(n.id, n.raftId, n.joinAt === 0, world)]));
  const agentRng = rng.fork('agents');
  // Each execution is numbered; only the last one of a job is held against its record (check R).
  let executionCount = 0;
  const executions = new Map<string, number>();
  const lastExecution = new Map<string, number>();
  const acknowledged: { agentId: string; jobId: string; state: string; execution: number; openAtAck: boolean }[] = [];
  const jobRecord = (jobId: string) => store.runs.get(jobId.slice(0, jobId.lastIndexOf('.')))?.jobs.find((j) => j.id === jobId);
  const watch: ExecutionWatch = {
    started: (agentId, job) => {
      executions.set(`${agentId}|${job.jobId}`, ++executionCount);
      lastExecution.set(job.jobId, executionCount);
      checker.executionStarted(agentId, job);
      trace.line(`${agentId} runs ${job.jobId} (dispatch attempt ${job.attempt}, epoch ${job.epoch})`);
    },
    ended: (agentId, jobId, how) => {
      checker.executionEnded(agentId, jobId);
      trace.line(`${agentId} ends ${jobId}: ${how}`);
    },
    acknowledged: (agentId, jobId, state) => {
      // Was the job still open in the store when its report was acknowledged? Then the report must be what ends it.
      const openAtAck = !isTerminalJob(jobRecord(jobId)?.status);
      acknowledged.push({ agentId, jobId, state, execution: executions.get(`${agentId}|${jobId}`) ?? 0, openAtAck });
    },
  };
  const agents = scenario.agents.map((a) => {
    const options = { id: a.id, node: a.node, labels: ['os:linux'], capacity: a.capacity, jobMs: scenario.jobMs, failShare: scenario.failShare, jobHeartbeatMs: timing.jobHeartbeatMs };
    return new SimAgent(options, loop, agentRng.fork(a.id), () => nodes.get(a.node)!.process?.hub, watch);
  });

  for (const node of nodes.values()) loop.at(0, () => node.start());
  for (const agent of agents) loop.at(agentRng.between(0, 200), () => agent.start());

  // The workload: each webhook reaches a member that is up (a node serves once it has joined), and
  // is retried until its run exists.
  const workRng = rng.fork('workload');
  const created = new Set<string>();
  for (const planned of scenario.runs) {
    const rows = runRows(planned);
    const attempt = () => {
      const up = [...nodes.values()].filter((n) => n.process?.serving);
      const node = up.length > 0 ? workRng.pick(up) : undefined;
      if (node?.process?.createRun(structuredClone(rows))) {
        created.add(planned.id);
        return;
      }
      loop.after(RETRY_CREATE_MS, attempt);
    };
    loop.at(planned.at, attempt);
  }

  scheduleFaults({ loop, net, nodes, agents, trace: (line) => trace.line(line) }, scenario);

  const allDone = () => created.size === scenario.runs.length && scenario.runs.every((r) => isTerminal(store.runs.get(r.id)?.run.status));
  const quiesceMs = options.quiesceMs ?? 60_000;
  await loop.runUntil(scenario.healAt + quiesceMs, () => loop.elapsed() >= scenario.healAt && allDone());

  const stuck = scenario.runs.filter((r) => !isTerminal(store.runs.get(r.id)?.run.status)).map((r) => ({ text: describeRun(store, r.id), neverStarted: neverStarted(store, r.id) }));
  checker.unfinished(stuck);
  checker.reportsKept(
    acknowledged.filter((a) => a.execution === lastExecution.get(a.jobId)),
    jobRecord,
  );
  const terminal = scenario.runs.filter((r) => isTerminal(store.runs.get(r.id)?.run.status)).length;
  trace.line(`end: ${terminal}/${scenario.runs.length} runs terminal, ${checker.writes} writes, ${checker.executions} executions, ${checker.count} violations`);
  return {
    seed,
    ok: checker.count === 0,
    violations: checker.violations,
    notes: checker.notes,
    violationCount: checker.count,
    digest: trace.digest(),
    scenario,
    schedule: describeScenario(scenario),
    trace: trace.lines,
    runs: { planned: scenario.runs.length, created: created.size, terminal, grouped: scenario.runs.filter((r) => r.concurrency).length, peakAdmitted: checker.peakAdmitted },
    writes: checker.writes,
    executions: checker.executions,
    events: loop.count,
    virtualMs: loop.elapsed(),
  };
}

function isTerminalJob(status: string | undefined): boolean {
  return status !== undefined && isTerminalJobStatus(status as JobStatus);
}

function isTerminal(status: string | undefined): boolean {
  return status === 'success' || status === 'failed' || status === 'cancelled';
}

/** Created and never dispatched a job: its start never reached an owner. */
function neverStarted(store: MemoryRunStore, runId: string): boolean {
  const loaded = store.runs.get(runId);
  return loaded !== undefined && loaded.run.status === 'pending' && loaded.jobs.every((j) => j.status === 'pending' && j.dispatchAttempts === 0);
}

function describeRun(store: MemoryRunStore, runId: string): string {
  const loaded = store.runs.get(runId);
  if (!loaded) return `${runId} never created`;
  const shard = store.shardOf(runId);
  const jobs = loaded.jobs.map((j) => `${j.name} ${j.status}${j.agentId ? ` on ${j.agentId}` : ''} (attempt ${j.dispatchAttempts})`).join(', ');
  return `${runId} ${loaded.run.status} in shard ${shard}@${store.shards.get(shard) ?? '-'}: ${jobs}`;
}
