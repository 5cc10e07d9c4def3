/**
 * The composition root of an edge worker (`KICI_CLUSTER_ROLE=worker`): an orchestrator node with
 * no database, no object store and no vote. It dials every coordinator it knows (it may sit behind
 * NAT), learns the cluster from them (members, shard map, agent tokens, kept on disk), hosts its
 * agents' sockets and actors, takes the jobs run owners offer them, and sends what the agents
 * report to each run's owner, holding it in its outbox while the owner is out of reach. Webhooks
 * sent to it are forwarded to a coordinator.
 */
import { mkdirSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { ActorSystem } from '../actors/index.js';
import type { AgentHub } from '../agents/index.js';
import { FailedAuthLimit, clientAddress, trustedProxies } from '../auth-guard/index.js';
import { offsetClock, systemClock, systemRandom, type Clock } from '../clock/index.js';
import type { NodeCredentials } from '../certificates/index.js';
import { runReports } from '../dispatch/index.js';
import { localNodeId, type Membership } from '../membership/index.js';
import { RUN_ACTOR_KIND } from '../runs/index.js';
import { PeerFaults, PeerKinds, PeerLinks, registerActorKinds, registerAgentMeshKinds, registerWorkerLinkKinds, type AgentMeshKinds, type WorkerAgentBody, type WorkerLinkKinds } from '../transport/index.js';
import { ClusterView, WorkerOutbox, WorkerRelay } from '../worker/index.js';
import { joinedWorker } from './cluster-start.js';
import type { OrchestratorConfig } from './config.js';
import { Router } from './http/router.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, watchWorkerOutbox, type OrchestratorMetrics } from './metrics.js';
import { VERSION, type StartOptions } from './orchestrator.js';
import { healthRoutes } from './routes/health.js';
import { webhookRoutes } from './routes/webhooks.js';
import { ActorLinks } from './wiring/actor-links.js';
import { joinAgentMesh } from './wiring/agent-mesh.js';
import { CoordinatorLinks } from './wiring/coordinator-links.js';
import { bindListener, type Listener } from './wiring/listener.js';
import { forwardWebhooks } from './wiring/webhook-forward.js';
import { announceJobs, workerHub } from './wiring/worker-hub.js';

export const WORKER_DIR = 'worker';
/** How often the worker tells the coordinators what it holds (for `kici-admin cluster status`). */
const STATUS_EVERY_MS = 5_000;

export interface WorkerNode {
  url: string;
  port: number;
  nodeId: string;
  clusterId: string;
  log: Logger;
  stop(): Promise<void>;
}

export async function startWorker(config: OrchestratorConfig, options: StartOptions = {}): Promise<WorkerNode> {
  // A worker keeps no database and so no database clock: a skew a chaos run gives it (KICI_FAULT_CLOCK_OFFSET_MS) stays uncorrected, as a real machine's would.
  const clock = offsetClock(options.clock ?? systemClock, config.faultClockOffsetMs);
  const log = (options.log ?? createLogger(config.logLevel)).child({ role: 'worker' });
  for (const warning of config.warnings ?? []) log.warn(warning);
  const listener = await bindListener(config, log);
  const cleanups: (() => Promise<void> | void)[] = [() => listener.close()];
  const stop = async () => {
    for (const c of [...cleanups].reverse()) await Promise.resolve(c()).catch((e: Error) => log.warn({ err: e.message }, 'shutdown step failed'));
    log.flush?.();
  };
  try {
    const nodeId = localNodeId(config.dataDir, config.instanceId);
    const { membership, credentials } = await joinedWorker(config, nodeId, log);
    const faults = options.faults ?? (config.faultInjection ? new PeerFaults(systemRandom) : undefined);
    await assemble(config, { clock, log, nodeId, membership, credentials, faults, listener, cleanups });
    let stopping: Promise<void> | undefined;
    return { url: listener.url, port: listener.port, nodeId, clusterId: membership.clusterId, log, stop: () => (stopping ??= stop()) };
  } catch (e) {
    await stop();
    throw e;
  }
}

interface Parts {
  clock: Clock;
  log: Logger;
  nodeId: string;
  membership: Membership;
  credentials: NodeCredentials;
  faults: PeerFaults | undefined;
  listener: Listener;
  cleanups: (() => Promise<void> | void)[];
}

/** Wiring only, in startup order; what a worker decides lives in the worker, agents and dispatch rooms. */
async function assemble(config: OrchestratorConfig, p: Parts): Promise<void> {
  const { clock, log, nodeId, cleanups } = p;
  const dir = path.join(config.dataDir, WORKER_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const view = new ClusterView(path.join(dir, 'cluster-view.json'), clock);
  const loaded = view.load();
  if (loaded.problem) log.warn(loaded.problem);
  const metrics = createMetrics();
  const authFailures = new FailedAuthLimit(clock);
  const mesh = workerLinks(config, p, view, authFailures);
  cleanups.push(() => mesh.links.close(), () => mesh.actors.close());
  const coordinators = new CoordinatorLinks(mesh.links, view, log);
  const system = workerActors(p, mesh, view);
  cleanups.push(() => system.shutdown());
  const outbox = openOutbox(config, dir, log, metrics);
  const relay = new WorkerRelay({
    direct: runReports(system),
    reachable: (runId) => {
      const owner = system.locate(runId)?.node;
      return owner !== undefined && mesh.links.isUp(owner);
    },
    outbox,
    clock,
    onReplayed: (n) => {
      metrics.workerReplayed.inc(n);
      log.info({ replayed: n, held: outbox.depth }, 'held reports delivered');
    },
    warn: (fields, msg) => log.warn(fields, msg),
  });
  cleanups.push(() => relay.stop());
  const registrations = new Map<string, WorkerAgentBody>();
  const hub = workerHub({ config, nodeId, clock, system, metrics, log, authFailures, view, relay, outbox, kinds: mesh.worker, coordinators, registrations });
  cleanups.push(() => hub.stop());
  cleanups.push(joinAgentMesh({ links: mesh.links, kinds: mesh.agents, hub, clock, log, trusts: (from) => view.trusts(from) }));
  mesh.links.handle(mesh.agents.tokenRevoked, (from, body) => ({ disconnected: view.trusts(from) ? hub.revokeToken(body.tokenId) : 0 }));
  cleanups.push(followCoordinators({ mesh, view, coordinators, relay, hub, system, outbox, registrations, clock, log }));

  const router = new Router(config.basePath);
  healthRoutes(router, {
    version: VERSION,
    // /health counts uptime on the machine's own clock (Date.now()), so its start is read unshifted.
    startedAt: clock.now() - config.faultClockOffsetMs,
    nodeId,
    metrics,
    clusterUnready: () => (coordinators.connected().length > 0 ? undefined : 'no coordinator is reachable: webhooks are refused and no new jobs arrive; agents\' reports are held'),
    held: () => ({ outboxDepth: outbox.depth, outboxBytes: outbox.bytes, coordinators: coordinators.connected() }),
  });
  const proxies = trustedProxies(config.trustedProxies);
  const addressOf = (req: IncomingMessage) => clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], proxies);
  webhookRoutes(router, { receive: forwardWebhooks({ links: mesh.links, kinds: mesh.worker, coordinators: () => coordinators.connected(), log }), addressOf });

  await mesh.links.start();
  coordinators.follow(p.membership.members);
  p.listener.serve(router, hub, addressOf);
  log.info({ url: p.listener.url, nodeId, clusterId: p.membership.clusterId, coordinators: view.coordinators().map((c) => c.node), held: outbox.depth }, 'edge worker listening');
}

interface WorkerMesh {
  links: PeerLinks;
  actors: ActorLinks;
  /** The actor system the actor links route by (built after them: it takes them as its remote port). */
  attach(system: ActorSystem): void;
  agents: AgentMeshKinds;
  worker: WorkerLinkKinds;
}

/** Peer links that only dial (no cluster port): actors, agents and the worker's own kinds. */
function workerLinks(config: OrchestratorConfig, p: Parts, view: ClusterView, authFailures: FailedAuthLimit): WorkerMesh {
  const kinds = new PeerKinds();
  const actorKinds = registerActorKinds(kinds);
  const agents = registerAgentMeshKinds(kinds);
  const worker = registerWorkerLinkKinds(kinds);
  const links = new PeerLinks({
    credentials: p.credentials,
    kinds,
    clock: p.clock,
    logger: p.log.child({ room: 'peer-links' }),
    revokedSerials: () => view.revokedSerials(),
    authFailures,
    faults: p.faults,
    pingIntervalMs: config.cluster.peerHeartbeatMs,
    idleTimeoutMs: config.cluster.peerStaleMs,
    maxReconnectDelayMs: config.cluster.maxReconnectDelayMs,
  });
  let system: ActorSystem | undefined;
  const actors = new ActorLinks({ links, kinds: actorKinds, nodeId: p.nodeId, clock: p.clock, system: () => system, trusted: (from) => view.trusts(from) });
  return { links, actors, agents, worker, attach: (s) => void (system = s) };
}

/** An actor system that owns no shard: agents' actors here, runs reached on their owners through the view's shard map. */
function workerActors(p: Parts, mesh: WorkerMesh, view: ClusterView): ActorSystem {
  const system = new ActorSystem({
    nodeId: p.nodeId,
    clock: p.clock,
    shardMap: view.shards,
    remote: mesh.actors,
    onError: (f) => p.log.error({ kind: f.kind, key: f.key, phase: f.phase, err: (f.error as Error)?.message }, 'actor failed'),
    onDeadLetter: (t, _m, reason) => p.log.warn({ kind: t.kind, key: t.key, reason: reason.message }, 'message not delivered'),
  });
  mesh.attach(system);
  // Runs live on the coordinators that own their shards: known here only to route to them.
  system.register(RUN_ACTOR_KIND, () => {
    throw new Error('an edge worker hosts no runs; their shards are owned by coordinators');
  });
  return system;
}

function openOutbox(config: OrchestratorConfig, dir: string, log: Logger, metrics: OrchestratorMetrics): WorkerOutbox {
  const outbox = WorkerOutbox.open(path.join(dir, 'outbox'), {
    maxBytes: config.workerOutboxMaxBytes,
    onDropped: (d) => log.warn(d, 'log lines dropped from the outbox (full); a gap marker takes their place'),
    onDiskError: (e, doing) => log.error({ err: e.message, doing }, 'the outbox could not be changed on disk; what it holds is kept'),
  });
  const { unfinished, corrupt } = outbox.loaded;
  if (unfinished > 0 || corrupt.length > 0) log.warn({ unfinished, corrupt }, 'outbox entries a crash left half written were removed; unreadable ones set aside');
  if (outbox.depth > 0) log.info({ held: outbox.depth, bytes: outbox.bytes }, 'reports held by an earlier process: replayed once their runs\' owners are reachable');
  watchWorkerOutbox(metrics, outbox);
  return outbox;
}

interface FollowParts {
  mesh: WorkerMesh;
  registrations: ReadonlyMap<string, WorkerAgentBody>;
  view: ClusterView;
  coordinators: CoordinatorLinks;
  relay: WorkerRelay;
  hub: AgentHub;
  system: ActorSystem;
  outbox: WorkerOutbox;
  clock: Clock;
  log: Logger;
}

/**
 * What the coordinators tell the worker (the view) and what it tells them (what it holds); a
 * coordinator coming back hears which of its runs' jobs still run here, then the held reports.
 */
function followCoordinators(f: FollowParts): () => void {
  const { mesh, view, coordinators, relay, hub, outbox, log } = f;
  mesh.links.onMessage(mesh.worker.view, (from, body) => {
    if (!view.trusts(from)) return;
    try {
      view.apply(body);
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'the cluster view could not be kept on disk; it is used from memory');
    }
    coordinators.follow();
    void relay.replay();
  });
  const report = (node?: string) => coordinators.tell(mesh.worker.status, { outboxDepth: outbox.depth, outboxBytes: outbox.bytes, agents: hub.directory.size }, node);
  mesh.links.on('peerUp', (e) => {
    if (e.role !== 'coordinator') return;
    report(e.nodeId);
    // Its record of where the agents are may have missed registrations made while it was away.
    for (const agent of hub.directory.list()) {
      const record = f.registrations.get(agent.agentId);
      if (record) coordinators.tell(mesh.worker.agentRegistered, record, e.nodeId);
    }
    // It held the running jobs of this worker's agents while the link was down.
    announceJobs(hub, relay, (runId) => f.system.locate(runId)?.node === e.nodeId);
    void relay.replay();
  });
  return everyMs(f.clock, STATUS_EVERY_MS, () => report());
}

function everyMs(clock: Clock, ms: number, fn: () => void): () => void {
  let cancel = clock.setTimer(ms, function tick() {
    fn();
    cancel = clock.setTimer(ms, tick);
  });
  return () => cancel();
}
