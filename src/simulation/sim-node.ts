/**
 * One simulated coordinator: its Raft log storage, which survives a crash (the driver persists
 * before it sends, so what MemoryStorage holds is what an fsync'd log would), and the process now
 * running on it, if any. A process is the real code of an orchestrator's cluster layer: ClusterRaft
 * (the RaftDriver over the replicated ClusterState), the node's ShardTable, an ActorSystem with the
 * RunActor, AgentActor and ConcurrencyGroupActor kinds, the RunAdmission, the AgentHub with its JobDispatcher and
 * MeshPlacement, and the leader's chores with the real placement, rebalancing, Liveness and
 * MembershipSteward; the simulation supplies the network, the store and the wiring between them.
 * A crash loses everything but the Raft storage: actors, queues, timers, agent sessions.
 */
import { ActorSystem } from '../actors/index.js';
import { AgentHub } from '../agents/index.js';
import { ClusterRaft, CoordinatorDuties, Liveness, ShardFollower, ShardTable, type Coordinator, type RaftTiming } from '../cluster/index.js';
import { HubDispatcher, jobEventsToRuns } from '../dispatch/index.js';
import { MemoryStorage, type Message, type SimRandom } from '../raft/index.js';
import {
  MemoryRunStore,
  RunAdmission,
  admissionRun,
  groupKey,
  groupOf,
  isTerminalRunStatus,
  openConcurrencyGate,
  registerRunActor,
  runSweeps,
  type GroupIdentity,
  type LoadedRun,
  type RunActorOptions,
  type RunRecord,
} from '../runs/index.js';
import { ActorMail } from './actor-mail.js';
import { AgentMesh } from './agent-mesh.js';
import type { ClusterChecker } from './checker.js';
import { simCoordinator, type Joiner } from './coordinator.js';
import { LinkWatch, type LinkTiming } from './link-watch.js';
import type { SimLoop } from './loop.js';
import type { SimNetwork } from './network.js';
import { PeerCalls } from './peer-calls.js';
import { ProcessClock } from './process-clock.js';
import { traceLog } from './trace.js';

export interface ClusterTiming {
  raft: RaftTiming;
  links: LinkTiming;
  /** KICI_CLUSTER_SHARD_LEASE_MS. */
  shardLeaseMs: number;
  rebalanceShardsPerSecond: number;
  agentHeartbeatTimeoutMs: number;
  /** KICI_JOB_HEARTBEAT_INTERVAL_MS, as the agents send job.heartbeat. */
  jobHeartbeatMs: number;
  /** The coordinator's stale-job sweep: threshold and scan interval. */
  staleThresholdMs: number;
  staleScanMs: number;
  runs: RunActorOptions;
}

/** The orchestrator's defaults (src/server/config.ts). */
/** As the orchestrator's sweep of what other nodes left behind (server/wiring/shard-ownership.ts). */
const SWEEP_EVERY_MS = 10_000;

export const DEFAULT_TIMING: ClusterTiming = {
  raft: { heartbeatMs: 50, electionMinMs: 500, electionMaxMs: 1000 },
  links: { pingMs: 500, staleMs: 1_500 },
  // shardLeaseLimit(): peerStaleMs less a tenth of it and a heartbeat.
  shardLeaseMs: 1_500 - 150 - 50,
  rebalanceShardsPerSecond: 16,
  agentHeartbeatTimeoutMs: 180_000,
  // Scaled down from 60 s / 120 s / 60 s, so that a seed's safety nets act within its virtual seconds.
  jobHeartbeatMs: 1_000,
  staleThresholdMs: 5_000,
  staleScanMs: 2_000,
  runs: {},
};

/** What every node of one simulation shares. */
export interface NodeWorld {
  loop: SimLoop;
  net: SimNetwork;
  rng: SimRandom;
  store: MemoryRunStore;
  checker: ClusterChecker;
  timing: ClusterTiming;
  /** Every node's id, by Raft id and the reverse. */
  raftIds: ReadonlyMap<string, number>;
  joiners: readonly Joiner[];
  trace(line: string): void;
  /** The store each node's runs write through (normally `store.as(node)`). */
  runStore(node: string): ReturnType<MemoryRunStore['as']>;
}

export class SimNode {
  readonly storage: MemoryStorage;
  private incarnation = 0;
  private current: NodeProcess | undefined;

  constructor(
    readonly id: string,
    readonly raftId: number,
    founder: boolean,
    private readonly world: NodeWorld,
  ) {
    // A joiner starts empty: it learns the configuration from the leader's snapshot.
    this.storage = new MemoryStorage(founder ? { voters: [raftId], learners: [] } : undefined);
  }

  get process(): NodeProcess | undefined {
    return this.current;
  }

  get up(): boolean {
    return this.current !== undefined;
  }

  start(): void {
    if (this.current) return;
    this.current = new NodeProcess(this, ++this.incarnation, this.world);
    this.world.trace(`${this.id} process ${this.incarnation} starts`);
  }

  crash(): void {
    if (!this.current) return;
    this.current.kill();
    this.current = undefined;
    this.world.trace(`${this.id} crashes`);
  }
}

export class NodeProcess {
  readonly clock: ProcessClock;
  readonly raft: ClusterRaft;
  readonly table: ShardTable;
  readonly system: ActorSystem;
  readonly hub: AgentHub;
  readonly admission: RunAdmission;
  private readonly calls: PeerCalls;
  private readonly links: LinkWatch;
  private readonly liveness: Liveness;
  private readonly detach: () => void;
  private readonly nodeOfRaft = new Map<number, string>();

  constructor(
    private readonly node: SimNode,
    incarnation: number,
    private readonly w: NodeWorld,
  ) {
    const id = node.id;
    const trace = (line: string) => w.trace(`${id} ${line}`);
    for (const [n, r] of w.raftIds) this.nodeOfRaft.set(r, n);
    const peers = [...w.raftIds.keys()].filter((n) => n !== id);
    this.clock = new ProcessClock(w.loop);
    // The shards as the store records them, claiming none (server/wiring/shards.ts): routing works
    // before this process has replayed its Raft log, and a node that just joined owns nothing yet.
    this.table = new ShardTable(w.store.shardRows());
    this.calls = new PeerCalls(id, incarnation, w.net, this.clock);
    this.detach = w.net.attach(id, (frame) => this.calls.receive(frame));
    this.liveness = new Liveness(id, this.clock, w.timing.links.staleMs);
    const random = w.rng.fork(`raft:${id}:${incarnation}`);
    this.raft = new ClusterRaft({
      raftId: node.raftId,
      storage: node.storage,
      clock: this.clock,
      random: () => random.next(),
      timing: w.timing.raft,
      send: (messages) => {
        for (const m of messages) this.calls.tell(this.nodeOfRaft.get(m.to) ?? '', 'raft', m);
      },
      onFatal: (e) => trace(`raft failed: ${e.message}`),
      onListenerError: (e) => trace(`a reaction to the cluster state failed: ${e.message}`),
    });
    this.calls.handle('raft', (_from, m) => this.raft.receive(m as Message));

    let mesh: AgentMesh | undefined;
    let coordinator: Coordinator | undefined;
    this.links = new LinkWatch(peers, this.calls, this.clock, w.timing.links, {
      up: (n) => {
        this.liveness.linkUp(n);
        coordinator?.linkUp(n);
        mesh?.linkUp(n);
      },
      down: (n) => {
        this.liveness.linkDown(n);
        coordinator?.linkDown(n);
        mesh?.linkDown(n);
        this.raft.reportUnreachable(w.raftIds.get(n)!);
      },
    });
    this.calls.onFrame = (from) => this.links.heard(from);

    const mail = new ActorMail(id, incarnation, this.calls, this.clock, (envelope, e) => trace(`undelivered ${envelope.kind}/${envelope.key}: ${e.message}`));
    this.system = new ActorSystem({
      nodeId: id,
      clock: this.clock,
      shardMap: this.table,
      remote: mail,
      onError: (f) => trace(`actor ${f.kind}/${f.key} failed in ${f.phase}: ${(f.error as Error)?.message}`),
      onDeadLetter: (target, msg, reason) => trace(`dead letter for ${target.kind}/${target.key} (${(msg as { type?: string }).type ?? '?'}): ${reason.message}`),
    });
    mail.attach(this.system);
    // The workflow-concurrency gate over the in-memory store: a group's unfinished runs in creation
    // order, as RunRepository.listNonTerminal gives them (the store's map keeps insertion order).
    const inGroup = (r: RunRecord, group: GroupIdentity) => {
      const g = groupOf(admissionRun(r));
      return g !== null && groupKey(g) === groupKey(group);
    };
    const unfinished = async (group?: GroupIdentity) =>
      [...w.store.runs.values()].map((l) => structuredClone(l.run)).filter((r) => !isTerminalRunStatus(r.status) && (!group || inGroup(r, group)));
    this.admission = openConcurrencyGate(
      this.system,
      { get: async (runId) => structuredClone(w.store.runs.get(runId)?.run), unfinished },
      (runId, e) => trace(`run admission failed for ${runId}: ${(e as Error)?.message}`),
    );
    this.hub = new AgentHub({
      nodeId: id,
      clock: this.clock,
      heartbeatTimeoutMs: w.timing.agentHeartbeatTimeoutMs,
      validateToken: async () => ({ tokenId: 'sim-token', labels: null, maxConcurrency: null }),
      events: jobEventsToRuns({ system: this.system, held: (agentId) => w.store.jobsHeldBy(agentId), log: traceLog(trace) }),
      system: this.system,
      // A queued job is placed only while its run's shard is acted on here (not lost, lease held).
      wanted: (request) => this.system.locate(request.runId)?.node === id,
      warn: (message, fields) => trace(`hub: ${message}${fields?.reason ? ` (${String(fields.reason)})` : ''}`),
    });
    mesh = new AgentMesh({ hub: this.hub, calls: this.calls, links: this.links, clock: this.clock, trace });
    const dispatcher = new HubDispatcher({
      hub: this.hub,
      epochOfRun: (runId) => this.table.epochOf(this.system.shardOf(runId)),
      // The frame carries the dispatch attempt too, so the checker counts starts per attempt.
      stamp: (frame, req) => Object.assign(frame, { simDispatchAttempt: req.attempt }),
    });
    registerRunActor(this.system, {
      store: w.runStore(id),
      dispatcher,
      observer: {
        runCompleted: (run) => {
          trace(`run ${run.id} completed ${run.status}`);
          void this.admission.finished(admissionRun(run));
        },
        jobChanged: (_run, job) => trace(`job ${job.id} ${job.status}${job.agentId ? ` on ${job.agentId}` : ''} (attempt ${job.dispatchAttempts})${job.error ? `: ${job.error}` : ''}`),
        foreignClaim: (c) => trace(`refused ${c.message} from ${c.agentId} about ${c.jobId}: ${c.reason}`),
        dispatcherFailed: (_run, job, e) => trace(`dispatcher failed for ${job.id}: ${(e as Error).message}`),
      },
      options: w.timing.runs,
    });

    const log = traceLog(trace);
    // Runs of owned shards the last sweep saw pending (the in-memory store keeps no creation time,
    // so "left behind" is a run seen pending by two sweeps in a row).
    let pendingSeen = new Set<string>();
    const restore = (runs: readonly RunRecord[]) => this.admission.restore(runs.map(admissionRun));
    const following = new ShardFollower({
      nodeId: id,
      table: this.table,
      clock: this.clock,
      log: { info: log, warn: log, error: log },
      passivate: (shard) => this.system.passivateShard(shard),
      raise: async (gains) => w.store.raise(id, gains),
      wake: async (shards, taken) => {
        const runs = w.store.unfinishedRuns(shards);
        await restore(runs);
        return { runs: runs.length, reclaimed: runs.filter((r) => taken.has(w.store.shardOf(r.id))).length };
      },
      sweep: {
        everyMs: SWEEP_EVERY_MS,
        run: async (shards) => {
          const pending = w.store.unfinishedRuns(shards).filter((r) => r.status === 'pending');
          const left = pending.filter((r) => pendingSeen.has(r.id));
          pendingSeen = new Set(pending.map((r) => r.id));
          if (left.length === 0) return;
          trace(`starting ${left.length} runs left pending: ${left.map((r) => r.id).join(',')}`);
          await restore(left);
        },
      },
      lease: { ms: w.timing.shardLeaseMs, checkMs: w.timing.raft.heartbeatMs, inQuorum: () => this.inQuorum() },
    });
    const followMap = () => {
      const owners = this.raft.state.shardOwners();
      w.checker.mapApplied(id, owners);
      void following.follow(owners);
    };
    this.raft.onApplied(followMap);
    followMap();
    this.raft.leadership().onChange((leader, term) => {
      if (!leader) return;
      w.checker.leader(term, id);
      trace(`leads term ${term}`);
    });

    coordinator = simCoordinator({
      nodeId: id,
      raftId: node.raftId,
      raft: this.raft,
      clock: this.clock,
      elapsed: () => w.loop.elapsed(),
      heartbeatMs: w.timing.raft.heartbeatMs,
      joiners: w.joiners,
      rebalanceShardsPerSecond: w.timing.rebalanceShardsPerSecond,
      alive: (n) => this.liveness.alive(n, this.links.isUp(n)),
      staleMs: w.timing.links.staleMs,
      linkUp: (n) => this.links.isUp(n),
      storedShards: () => w.store.shardRows(),
      trace,
    });
    coordinator.start();
    // The coordinator's safety nets behind the RunActors' own timers, on the leader only.
    const duties = new CoordinatorDuties(this.raft.leadership(), this.clock, (duty, e) => trace(`duty ${duty} failed: ${(e as Error).message}`));
    for (const duty of runSweeps(w.store, this.system, { staleThresholdMs: w.timing.staleThresholdMs, staleScanIntervalMs: w.timing.staleScanMs, clock: this.clock })) duties.add(duty);
    this.links.start();
    mesh.start();
  }

  /** Does this node take webhooks: it is a member of the cluster, as its own replicated state says. */
  get serving(): boolean {
    return this.raft.state.member(this.node.id) !== undefined;
  }

  /**
   * A webhook for `run` reached this node: the run is created at this node's epoch of its shard,
   * as deliveries/run-creation.ts does (fenced: refused unless the shard's row is at that epoch),
   * and its actor is told to start through the admission. False when the store refused it.
   */
  createRun(run: LoadedRun): boolean {
    const shard = this.system.shardOf(run.run.id);
    if (!this.w.store.create(run, shard, this.table.epochOf(shard), this.node.id)) return false;
    void this.admission.start(run.run.id, { grouped: run.run.concurrency != null });
    return true;
  }

  /**
   * In touch with a quorum, as ClusterNode.unreadyReason judges it: the leader while its lease
   * holds, a follower while it follows a leader whose link is up.
   */
  inQuorum(): boolean {
    if (this.raft.failure()) return false;
    const status = this.raft.status();
    if (status.leader === 0) return false;
    if (status.leader === status.id) return this.raft.leadership().isLeader();
    const leader = this.nodeOfRaft.get(status.leader);
    return leader !== undefined && this.links.isUp(leader);
  }

  /** The process dies where it stands: no timer of it fires again, no frame reaches it. */
  kill(): void {
    this.clock.kill();
    this.detach();
  }
}
