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
import { AgentHub, type JobRef, type TokenGrant } from '../agents/index.js';
import { hashToken } from '../secrets/index.js';
import { FailedAuthLimit, clientAddress, trustedProxies } from '../auth-guard/index.js';
import { systemClock, systemRandom, type Clock } from '../clock/index.js';
import { jobEventsToRuns, runReports } from '../dispatch/index.js';
import { localNodeId } from '../membership/index.js';
import { RUN_ACTOR_KIND, tellRunsAgentBack } from '../runs/index.js';
import { PeerFaults, PeerKinds, PeerLinks, registerActorKinds, registerAgentMeshKinds, registerWorkerLinkKinds, type PeerIdentity, type PeerRequestKind, type WorkerLinkKinds } from '../transport/index.js';
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
import { bindListener } from './wiring/listener.js';
import { forwardWebhooks } from './wiring/webhook-forward.js';

export const WORKER_DIR = 'worker';
/** How often the worker tells the coordinators what it holds (for `kici-admin cluster status`). */
const STATUS_EVERY_MS = 5_000;
/** How long one coordinator is given to answer a question the worker cannot answer itself. */
const ASK_MS = 5_000;

export interface WorkerNode {
  url: string;
  port: number;
  nodeId: string;
  clusterId: string;
  log: Logger;
  stop(): Promise<void>;
}

export async function startWorker(config: OrchestratorConfig, options: StartOptions = {}): Promise<WorkerNode> {
  const clock = options.clock ?? systemClock;
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
    const dir = path.join(config.dataDir, WORKER_DIR);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const view = new ClusterView(path.join(dir, 'cluster-view.json'), clock);
    const loaded = view.load();
    if (loaded.problem) log.warn(loaded.problem);
    const metrics = createMetrics();
    const authFailures = new FailedAuthLimit(clock);
    const kinds = new PeerKinds();
    const actorKinds = registerActorKinds(kinds);
    const agentMesh = registerAgentMeshKinds(kinds);
    const workerLink = registerWorkerLinkKinds(kinds);
    const links = new PeerLinks({
      credentials,
      kinds,
      clock,
      logger: log.child({ room: 'peer-links' }),
      revokedSerials: () => view.revokedSerials(),
      authFailures,
      faults: options.faults ?? (config.faultInjection ? new PeerFaults(systemRandom) : undefined),
      pingIntervalMs: config.cluster.peerHeartbeatMs,
      idleTimeoutMs: config.cluster.peerStaleMs,
      maxReconnectDelayMs: config.cluster.maxReconnectDelayMs,
    });
    cleanups.push(() => links.close());
    const coordinators = new CoordinatorLinks(links, view, log);
    let system: ActorSystem | undefined;
    const actors = new ActorLinks({ links, kinds: actorKinds, nodeId, clock, system: () => system, trusted: (from) => view.trusts(from) });
    cleanups.push(() => actors.close());
    system = new ActorSystem({
      nodeId,
      clock,
      shardMap: view.shards,
      remote: actors,
      onError: (f) => log.error({ kind: f.kind, key: f.key, phase: f.phase, err: (f.error as Error)?.message }, 'actor failed'),
      onDeadLetter: (t, _m, reason) => log.warn({ kind: t.kind, key: t.key, reason: reason.message }, 'message not delivered'),
    });
    const actorSystem = system;
    cleanups.push(() => actorSystem.shutdown());
    // Runs live on the coordinators that own their shards: known here only to route to them.
    actorSystem.register(RUN_ACTOR_KIND, () => {
      throw new Error('an edge worker hosts no runs; their shards are owned by coordinators');
    });

    const outbox = WorkerOutbox.open(path.join(dir, 'outbox'), {
      maxBytes: config.workerOutboxMaxBytes,
      onDropped: (d) => log.warn(d, 'log lines dropped from the outbox (full); a gap marker takes their place'),
    });
    if (outbox.depth > 0) log.info({ held: outbox.depth, bytes: outbox.bytes }, 'reports held by an earlier process: replayed once their runs\' owners are reachable');
    watchWorkerOutbox(metrics, outbox);
    const ownerOf = (runId: string) => actorSystem.locate(runId)?.node;
    const relay = new WorkerRelay({
      direct: runReports(actorSystem),
      reachable: (runId) => {
        const owner = ownerOf(runId);
        return owner !== undefined && links.isUp(owner);
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

    const hub = workerHub({ config, nodeId, clock, system: actorSystem, metrics, log, authFailures, view, relay, links, kinds: workerLink, coordinators });
    cleanups.push(() => hub.stop());
    cleanups.push(joinAgentMesh({ links, kinds: agentMesh, hub, clock, log, trusts: (from) => view.trusts(from) }));
    links.handle(agentMesh.tokenRevoked, (from, body) => ({ disconnected: view.trusts(from) ? hub.revokeToken(body.tokenId) : 0 }));

    links.onMessage(workerLink.view, (from, body) => {
      if (!view.trusts(from)) return;
      try {
        view.apply(body);
      } catch (e) {
        log.warn({ err: (e as Error).message }, 'the cluster view could not be kept on disk; it is used from memory');
      }
      coordinators.follow();
      void relay.replay();
    });
    const report = (node?: string) => {
      const body = { outboxDepth: outbox.depth, outboxBytes: outbox.bytes, agents: hub.directory.size };
      for (const c of node ? [node] : coordinators.connected()) links.send(c, workerLink.status, body);
    };
    links.on('peerUp', (e) => {
      if (e.role !== 'coordinator') return;
      report(e.nodeId);
      // The coordinator held the running jobs of this worker's agents while it was away.
      announceJobs(hub, actorSystem, (runId) => ownerOf(runId) === e.nodeId);
      void relay.replay();
    });
    const stopReports = everyMs(clock, STATUS_EVERY_MS, () => report());
    cleanups.push(stopReports);

    const router = new Router(config.basePath);
    healthRoutes(router, {
      version: VERSION,
      startedAt: clock.now(),
      nodeId,
      metrics,
      clusterUnready: () => (coordinators.connected().length > 0 ? undefined : 'no coordinator is reachable: webhooks are refused and no new jobs arrive; agents\' reports are held'),
      held: () => ({ outboxDepth: outbox.depth, outboxBytes: outbox.bytes, coordinators: coordinators.connected() }),
    });
    const proxies = trustedProxies(config.trustedProxies);
    const addressOf = (req: IncomingMessage) => clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], proxies);
    webhookRoutes(router, { receive: forwardWebhooks({ links, kinds: workerLink, coordinators: () => coordinators.connected(), log }), addressOf });

    await links.start();
    coordinators.follow(membership.members);
    listener.serve(router, hub, addressOf);
    log.info({ url: listener.url, nodeId, clusterId: membership.clusterId, coordinators: view.coordinators().map((c) => c.node), held: outbox.depth }, 'edge worker listening');
    let stopping: Promise<void> | undefined;
    return { url: listener.url, port: listener.port, nodeId, clusterId: membership.clusterId, log, stop: () => (stopping ??= stop()) };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The links to the coordinators, kept in step with the latest view (the join's member list before any). */
class CoordinatorLinks {
  private readonly dialled = new Map<string, string>();

  constructor(
    private readonly links: PeerLinks,
    private readonly view: ClusterView,
    private readonly log: Pick<Logger, 'error'>,
  ) {}

  follow(seed: { node: string; address: string }[] = []): void {
    const wanted = this.view.hasView ? this.view.coordinators() : seed.filter((m) => m.address !== '');
    const names = new Set(wanted.map((c) => c.node));
    for (const c of wanted) {
      if (this.dialled.get(c.node) === c.address) continue;
      try {
        this.links.addPeer(c.node, c.address);
        this.dialled.set(c.node, c.address);
      } catch (e) {
        this.log.error({ peer: c.node, address: c.address, err: (e as Error).message }, 'a coordinator\'s address cannot be dialled');
      }
    }
    for (const node of [...this.dialled.keys()]) {
      if (names.has(node) || !this.view.hasView) continue;
      this.dialled.delete(node);
      this.links.removePeer(node);
    }
  }

  connected(): string[] {
    return this.links.connectedPeers().filter((p: PeerIdentity) => p.role === 'coordinator' && this.view.trusts(p)).map((p) => p.nodeId);
  }
}

interface WorkerHubParts {
  config: OrchestratorConfig;
  nodeId: string;
  clock: Clock;
  system: ActorSystem;
  metrics: OrchestratorMetrics;
  log: Logger;
  authFailures: FailedAuthLimit;
  view: ClusterView;
  relay: WorkerRelay;
  links: PeerLinks;
  kinds: WorkerLinkKinds;
  coordinators: CoordinatorLinks;
}

/** The worker's agent hub: tokens checked against the view, reports through the relay, agents recorded by a coordinator. */
function workerHub(p: WorkerHubParts): AgentHub {
  const { links, kinds, log, metrics } = p;
  // The store's word on which jobs an agent holds, asked of a coordinator; none reachable: not checked now.
  const held = async (agentId: string): Promise<JobRef[]> => (await askAnyCoordinator(p, kinds.jobsHeld, { agentId }))?.jobs ?? [];
  // A token made since the last view: a coordinator's word, so a new agent need not wait for the next view.
  const askToken = async (token: string): Promise<TokenGrant | null> => {
    const found = (await askAnyCoordinator(p, kinds.agentToken, { hash: hashToken(token) }))?.token;
    return found && (found.expiresAt === null || found.expiresAt > p.clock.now()) ? { tokenId: found.id, labels: found.labels } : null;
  };
  return new AgentHub({
    nodeId: p.nodeId,
    clock: p.clock,
    system: p.system,
    heartbeatTimeoutMs: p.config.agentHeartbeatTimeoutMs,
    validateToken: async (token) => p.view.grantFor(token) ?? (await askToken(token)),
    events: jobEventsToRuns({ system: p.system, held, reports: p.relay, log: (fields, msg) => log.info(fields, msg) }),
    onAgentCountChange: (n) => metrics.agentsActive.set(n),
    onJobDispatched: () => metrics.jobsDispatched.inc(),
    onRegistered: (agentId, reg, grant) => {
      for (const node of p.coordinators.connected()) links.send(node, kinds.agentRegistered, { agentId, tokenId: grant.tokenId, labels: reg.labels, hostname: reg.hostname });
      log.info({ agentId, labels: reg.labels, maxConcurrency: reg.maxConcurrency }, 'agent registered');
    },
    authFailed: (address) => {
      metrics.authFailures.inc({ kind: 'agent' });
      return p.authFailures.fail(address);
    },
    warn: (msg, f) => log.warn(f ?? {}, msg),
    // Jobs reach a worker only as offers its agents take at once: it never queues one.
    wanted: () => false,
  });
}

/** The first reachable coordinator's answer; undefined when none answers. */
async function askAnyCoordinator<Q, R>(p: Pick<WorkerHubParts, 'links' | 'coordinators'>, kind: PeerRequestKind<Q, R>, body: Q): Promise<R | undefined> {
  for (const node of p.coordinators.connected()) {
    try {
      return await p.links.request(node, kind, body, { timeoutMs: ASK_MS });
    } catch {
      continue;
    }
  }
  return undefined;
}

/** Tell the runs chosen by `owned` which of their jobs this worker's agents still run. */
function announceJobs(hub: AgentHub, system: ActorSystem, owned: (runId: string) => boolean): void {
  for (const agent of hub.directory.list()) {
    const jobs = hub.dispatcher.jobsOf(agent.agentId).filter((j) => j.sent && owned(j.runId));
    if (jobs.length > 0) tellRunsAgentBack(system, agent.agentId, jobs);
  }
}

function everyMs(clock: Clock, ms: number, fn: () => void): () => void {
  let cancel = clock.setTimer(ms, function tick() {
    fn();
    cancel = clock.setTimer(ms, tick);
  });
  return () => cancel();
}
