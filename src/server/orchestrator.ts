import type { IncomingMessage } from 'node:http';
import { ActorSystem } from '../actors/index.js';
import type { AdminDeps, ConnectedAgent } from '../admin/index.js';
import type { AgentHub, RemoteAgent } from '../agents/index.js';
import { FailedAuthLimit, clientAddress, trustedProxies } from '../auth-guard/index.js';
import { clockSkewSeconds, DatabaseClock, offsetClock, systemClock, systemIds, systemRandom, type Clock, type IdSource } from '../clock/index.js';
import { CoordinatorDuties } from '../cluster/index.js';
import { dedupKeySweep, SourceCatalog } from '../deliveries/index.js';
import { Retention, retentionDuty } from '../retention/index.js';
import { envGroupRef } from '../environments/index.js';
import type { DeliveryRecord } from '../webhooks/index.js';
import { cancelRunVia, isTerminalRunStatus, runSweeps, voteOnHoldVia } from '../runs/index.js';
import { createDatabaseSecretStore, createSecretBackends, LiveSecretKeys, missingKeyProblems, resolveOldSecretKey, rotateMasterKey, resolveSecretKey, type MasterKey } from '../secrets/index.js';
import { openStore, type Store } from '../store/index.js';
import { announceAdminToken, ensureAdminToken, type Terminal } from './bootstrap.js';
import { ensureClusterIdentity } from './cluster-identity.js';
import type { OrchestratorConfig } from './config.js';
import { Router } from './http/router.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, watchClockSkew, watchCluster } from './metrics.js';
import { mountAdminApi } from './routes/admin-api.js';
import { healthRoutes } from './routes/health.js';
import { receiveWebhook, webhookRoutes } from './routes/webhooks.js';
import { EdgeWorkers } from './wiring/edge-workers.js';
import { createAgentHub } from './wiring/agent-hub.js';
import { joinAgentMesh } from './wiring/agent-mesh.js';
import { wireDeliveries } from './wiring/deliveries.js';
import { wireGithub } from './wiring/github.js';
import { webhookIntake } from './wiring/intake.js';
import { wireReconcile } from './wiring/reconcile.js';
import { bindListener, type Listener } from './wiring/listener.js';
import { wireRunDomain } from './wiring/run-domain.js';
import { watchSourceChanges } from './wiring/source-changes.js';
import { loadShards } from './wiring/shards.js';
import { followShards } from './wiring/shard-ownership.js';
import { startClusterNode } from './wiring/cluster.js';
import { MasterKeyHandover } from './wiring/master-key-handover.js';
import { openObjectStorage, storageMigration } from './wiring/storage.js';
import { clusterAdmin, clusterView } from './wiring/cluster-views.js';
import { clusterRoutes } from './routes/cluster.js';
import { clusterDirOf, configuredKeyProblem, joinedNode, sharedSettings, type JoinedNode } from './cluster-start.js';
import { recoverIfAsked } from './cluster-recovery.js';
import { localNodeId, readMembership } from '../membership/index.js';
import { ConfigError } from './config.js';
import { PeerFaults } from '../transport/index.js';
import { openUiRoom, packageAssetRoots, runPageLink } from '../ui/index.js';

export const VERSION = '0.1.0';

/**
 * PostgreSQL connections per node (the driver's default is 10). A delivery in flight holds at most
 * one at a time (a query or one transaction); run actors, dispatch, agent sessions, sweeps and the
 * database clock share the rest. 20 keeps three coordinators, each with its LISTEN connection, well
 * inside PostgreSQL's default max_connections of 100. PGlite has one connection whatever this says.
 */
const DATABASE_POOL_SIZE = 20;

/**
 * Deliveries processed at once: 12 of the 20 connections at most, so a burst of webhooks leaves 8
 * for the runs it starts instead of queueing their dispatch behind it (16 deliveries on a pool of 10
 * queued everything behind the pool).
 */
const DELIVERY_CONCURRENCY = 12;

export interface Orchestrator {
  url: string;
  port: number;
  nodeId: string;
  /** The cluster this node belongs to (made on the first start). */
  clusterId: string;
  /** The cluster port, when it is open (KICI_CLUSTER_ADDRESS set). */
  clusterPort?: number;
  store: Store;
  log: Logger;
  stop(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  /** New run and job ids; random UUIDs when absent (a simulator hands out its own). */
  ids?: IdSource;
  log?: Logger;
  /** Print the first-start admin token on the terminal (the CLI does; tests don't). */
  announce?: boolean;
  /** Where the token is shown, and only when it is a TTY; process.stdout when absent. */
  terminal?: Terminal;
  /** The fault hook on the peer links (only where KICI_FAULT_INJECTION is allowed). */
  faults?: PeerFaults;
}

/**
 * The composition root: open the store, bootstrap identity and tokens, wire the actor system,
 * agent hub, webhook intake and admin API onto one HTTP listener, then resume what a previous
 * process left unfinished. A single node is a cluster of one: it owns all 256 shards.
 */
export async function startOrchestrator(config: OrchestratorConfig, options: StartOptions = {}): Promise<Orchestrator> {
  // The machine's clock, shifted when a chaos run skews this node (KICI_FAULT_CLOCK_OFFSET_MS): the
  // database clock below measures from it, so it corrects the skew as it would a real machine's.
  const clock = offsetClock(options.clock ?? systemClock, config.faultClockOffsetMs);
  const log = options.log ?? createLogger(config.logLevel);
  for (const warning of config.warnings ?? []) log.warn(warning);
  // The port first: a busy port fails the start before the data directory, the database or a token is touched.
  const listener = await bindListener(config, log);
  const cleanups: (() => Promise<void> | void)[] = [() => listener.close()];
  try {
    const nodeId = localNodeId(config.dataDir, config.instanceId);
    // A joiner joins before anything else: its database URL and master key come from the join.
    const joined = await joinedNode(config, nodeId, log);
    const shared = joined ? sharedSettings(config, joined) : undefined;
    const secretKey = resolveSecretKey({ configured: shared?.secretKey ?? config.secretKey, dataDir: config.dataDir });
    // During a master-key rotation: read with it too, never seal with it (docs/key-rotation.md).
    const secretKeyOld = resolveOldSecretKey(shared ? shared.secretKeyOld : config.secretKeyOld, secretKey.key);
    const store = await openStore({
      url: shared?.databaseUrl ?? config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: DATABASE_POOL_SIZE,
      prepare: config.preparedStatements,
      onConnectionError: (e) => log.warn({ err: e.message }, 'database connection error'),
    });
    cleanups.push(() => store.close());
    // Deadlines (ack, recovery, stale, queue, workflow timeouts) outlive a shard move, so they are
    // measured against the database's time, which every node shares; a test's clock is kept as given.
    const deadlines = options.clock ? clock : await startDatabaseClock(store, clock, log);
    if (deadlines instanceof DatabaseClock) cleanups.push(() => deadlines.stop());
    const announce = options.announce ?? false;
    if (joined && store.driver !== 'postgres') throw new ConfigError(['a member of a cluster needs the PostgreSQL the cluster shares, not PGlite']);
    return await assemble(config, { clock, deadlines, ids: options.ids ?? systemIds, log, nodeId, store, secretKey: secretKey.key, secretKeyOld, keyNeedsDatabase: shared?.keyNeedsDatabase ?? false, joined, databaseUrl: joined?.secrets.databaseUrl ?? config.databaseUrl, faults: options.faults ?? (config.faultInjection ? new PeerFaults(systemRandom) : undefined), announce, terminal: options.terminal ?? process.stdout, listener, cleanups });
  } catch (e) {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
    throw e;
  }
}

interface Parts {
  clock: Clock;
  /** The clock of everything that writes or compares a stored deadline: the database's time (or the test's clock). */
  deadlines: Clock;
  ids: IdSource;
  log: Logger;
  nodeId: string;
  store: Store;
  secretKey: MasterKey;
  /** The previous master key while a rotation is under way. */
  secretKeyOld: MasterKey | undefined;
  /** A joined node configured with another key than it was handed: the database must show the cluster uses it. */
  keyNeedsDatabase: boolean;
  /** Set on a node that joined the cluster (not on the node that made it). */
  joined: JoinedNode | undefined;
  /** The database URL the cluster shares (a joined node's own override is not handed on). */
  databaseUrl: string | undefined;
  faults: PeerFaults | undefined;
  announce: boolean;
  terminal: Terminal;
  /** Bound before anything else; answers 503 until the routes below are handed to it. */
  listener: Listener;
  cleanups: (() => Promise<void> | void)[];
}

/** Wiring only: each room is built from its parts here, in startup order; policy lives in the rooms. */
async function assemble(config: OrchestratorConfig, p: Parts): Promise<Orchestrator> {
  const { clock, deadlines, log, nodeId, store, cleanups } = p;
  const applied = await store.migrations.prepare({ autoMigrate: config.autoMigrate });
  if (applied.length) log.info({ applied }, 'database migrated');
  // Before anything reads a secret: a value sealed with a key this node lacks refuses the start, by table and key version.
  // One holder every reader asks at each seal and open: a rotation on another coordinator changes it live.
  const keys = new LiveSecretKeys(p.secretKey, p.secretKeyOld);
  const missingKeys = await missingKeyProblems(store.keyRotation, keys);
  if (missingKeys.length) throw new ConfigError([...missingKeys, 'start with the key that sealed them as KICI_SECRET_KEY_OLD (the new one as KICI_SECRET_KEY), then run kici-admin rotate-key']);
  if (p.keyNeedsDatabase) {
    const sealed = (await store.keyRotation.countsByKeyVersion()).map((c) => c.keyVersion);
    const problem = configuredKeyProblem(sealed, [p.secretKey.version, ...(p.secretKeyOld ? [p.secretKeyOld.version] : [])]);
    if (problem) throw new ConfigError([problem]);
  }
  if (p.secretKeyOld) log.warn({ keyVersion: p.secretKey.version, oldKeyVersion: p.secretKeyOld.version }, 'KICI_SECRET_KEY_OLD is set: a master-key rotation is under way; run kici-admin rotate-key, then remove it');
  // Before anything is written for this node: a data directory and a database of different clusters refuse to start.
  const cluster = await ensureClusterIdentity({ dataDir: config.dataDir, cluster: store.cluster, nodeId, now: new Date(clock.now()), log });
  await recoverIfAsked(config.dataDir, p.joined?.membership ?? readMembership(clusterDirOf(config.dataDir)), store, new Date(clock.now()), log);
  // Routing starts from what the database records; this node acts on a shard only once the
  // replicated map gives it the shard and it has raised the shard's row (ShardOwnership).
  const shards = await loadShards(store);
  const boot = await ensureAdminToken(store.adminTokens, config.dataDir, config.bootstrapAdminToken);
  if (boot.notice) log.warn(boot.notice);
  if (p.announce) announceAdminToken(boot, p.terminal, log);

  const metrics = createMetrics();
  watchClockSkew(metrics, () => clockSkewSeconds(deadlines));
  // One failure limit for both doors that take credentials (admin API, agent socket).
  const authFailures = new FailedAuthLimit(clock);
  const proxies = trustedProxies(config.trustedProxies);
  const addressOf = (req: IncomingMessage) => clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], proxies);
  const vault = createDatabaseSecretStore(store.sealedSecrets, keys, clock);
  const secretBackends = createSecretBackends({ repository: store.secretBackends, keys, clock });
  const storage = await openObjectStorage(config, store, log);
  cleanups.push(() => storage.close());
  const clusterNode = await startClusterNode(config, { ...p, keys, clusterId: cluster.clusterId, authFailures, onActorForwarded: () => metrics.actorMessagesForwarded.inc() });
  cleanups.push(() => clusterNode.stop());
  const leadership = clusterNode.leadership();
  const system = new ActorSystem({
    nodeId,
    clock: deadlines,
    shardMap: shards,
    remote: clusterNode.actors,
    onError: (f) => log.error({ kind: f.kind, key: f.key, phase: f.phase, stopped: f.stopped, err: (f.error as Error)?.message }, 'actor failed'),
    onDeadLetter: (t, _m, reason) => log.warn({ kind: t.kind, key: t.key, reason: reason.message }, 'message not delivered'),
  });
  cleanups.push(() => system.shutdown());
  clusterNode.attachActors(system);
  const keyHandover = new MasterKeyHandover({ links: clusterNode.links, kinds: clusterNode.masterKey, keys, credentials: clusterNode.credentials, clusterDir: clusterDirOf(config.dataDir), trusts: (from) => clusterNode.trusts(from), coordinators: () => clusterNode.otherCoordinators(), log });
  keyHandover.serve();

  const hub = createAgentHub({ config, nodeId, clock: deadlines, store, system, metrics, log, authFailures });
  cleanups.push(() => hub.stop());
  clusterNode.onAgentTokenRevoked((tokenId) => hub.revokeToken(tokenId));
  // Jobs reach agents whose sockets other nodes hold; this node's agents take jobs of runs owned elsewhere.
  cleanups.push(joinAgentMesh({ links: clusterNode.links, kinds: clusterNode.agentMesh, hub, clock, log, trusts: (from) => clusterNode.trusts(from) }));

  const catalog = new SourceCatalog(store.sources, vault, clock);
  // Another coordinator's change to a source or its secrets reaches this node's cache within a NOTIFY.
  cleanups.push(await watchSourceChanges(store, catalog, log));
  const github = wireGithub(catalog, config.githubApiUrl);
  const { publicUrl } = config;
  const runPage = publicUrl ? (runId: string, jobId?: string) => runPageLink(publicUrl, runId, jobId) : undefined;
  const { admission, runStore, stop: stopRunDomain } = wireRunDomain({ config, store, system, shards, hub, catalog, github, clock, stepLogs: storage.stepLogs, log, metrics, secrets: vault, secretBackends, ...(runPage && { runPage }) });
  cleanups.push(stopRunDomain);
  const deliveries = wireDeliveries({ config, store, clock: deadlines, ids: p.ids, shards, admission, catalog, blobs: storage.blobs, metrics, log, concurrency: DELIVERY_CONCURRENCY, github: github.repos });
  const { processor } = deliveries;
  // Runs before the database closes (cleanups run in reverse): a delivery mid-way finishes its write.
  cleanups.push(() => processor.idle());
  const ownership = followShards({
    nodeId,
    table: shards,
    system,
    store,
    admission,
    clock: deadlines,
    log,
    // A gained shard's deliveries left `received` are this node's to finish (at start: every shard it owns).
    resumeDeliveries: (owned, receivedBefore) => processor.resume({ shards: owned, receivedBefore }),
    // Out of touch with a quorum this long, the node stops acting on its shards (before the leader can give them away).
    lease: { ms: config.cluster.shardLeaseMs, checkMs: config.cluster.raft.heartbeatMs, inQuorum: () => clusterNode.unreadyReason() === undefined },
    onOwned: (n) => metrics.shardsOwned.set(n),
    onMoved: () => metrics.shardMoves.inc(),
    onReclaimed: (n) => metrics.orphansReclaimed.inc(n),
  });
  clusterNode.onShardMap((map) => void ownership.follow(map));
  cleanups.push(() => ownership.stop());
  // A cluster of one leads at once and places every shard on itself before it resumes anything;
  // a member of a larger one gains shards whenever the leader gives it some.
  await clusterNode.settled(config.cluster.raft.electionMaxMs * 2);
  await clusterNode.placeShards().catch((e: Error) => log.warn({ err: e.message }, 'shard placement at start did not complete; the leader retries'));
  await ownership.follow(clusterNode.raft.state.shardOwners());
  // Old webhook bodies and step logs: the leader's duty below, or an admin's purge, removes them.
  const retention = new Retention({ store, blobs: storage.blobs, stepLogs: storage.stepLogs, clock: deadlines, onDeleted: (kind, n) => metrics.retentionDeleted.inc({ kind }, n) });
  const reconcile = wireReconcile({ store, mirrors: deliveries.mirrors, processor, sourceToken: (s) => catalog.secret(s, 'token'), clock, log, intervalMs: config.gitReconcileIntervalMs });

  const intake = {
    metrics,
    log,
    admit: webhookIntake(store.deliveries, catalog, deadlines),
    accepted: (d: DeliveryRecord) => processor.accepted(d),
  };
  // Edge workers linked to this node: told the cluster, their webhooks taken, their jobs held while they are away.
  const edgeWorkers = new EdgeWorkers({
    nodeId,
    links: clusterNode.links,
    kinds: clusterNode.workerLink,
    raft: clusterNode.raft,
    store,
    system,
    clock: deadlines,
    trusts: (from) => clusterNode.trusts(from),
    receiveWebhook: (request, address) => receiveWebhook(intake, request, address),
    outageMaxMs: config.cluster.workerOutageMaxMs,
    log,
  });
  cleanups.push(() => edgeWorkers.stop());
  const workerReports = (node: string) => edgeWorkers.report(node);

  const router = new Router(config.basePath);
  // /health counts uptime on the machine's own clock (Date.now()), so its start is read unshifted.
  healthRoutes(router, { version: VERSION, startedAt: clock.now() - config.faultClockOffsetMs, nodeId, metrics, probeDatabase: () => store.ping(), clusterUnready: () => clusterNode.unreadyReason() });
  clusterRoutes(router, clusterView(clusterNode, store.cluster, cluster.clusterId, workerReports));
  cleanups.push(watchCluster(metrics, clusterNode.gauges()));
  webhookRoutes(router, { receive: (request, address) => receiveWebhook(intake, request, address), addressOf });
  const adminDeps: AdminDeps = {
    store,
    secrets: vault,
    secretBackends,
    rotateMasterKey: (by, options) => keyHandover.rotate(() => rotateMasterKey(store.keyRotation, keys, { ...options, by, now: () => new Date(clock.now()) })),
    sourcesChanged: () => catalog.invalidate(),
    clock: deadlines,
    logs: storage.stepLogs,
    disconnectToken: async (tokenId) => hub.revokeToken(tokenId) + (await clusterNode.revokeAgentTokenElsewhere(tokenId)),
    waitReason: (runsOn) => hub.waitReason(runsOn),
    connectedAgents: () => connectedAgents(hub),
    agentsElsewhere: () => agentsElsewhere(hub),
    runIsTerminal: async (runId) => {
      const run = await store.runs.get(runId);
      return !run || isTerminalRunStatus(run.status);
    },
    cancelRun: (runId, force) => cancelRunVia(system, runId, force),
    voteOnHold: (runId, request) => voteOnHoldVia(system, runId, request),
    environmentChanged: (orgId, name) => envGroupRef(system, { orgId, group: name }).tell({ type: 'reload' }),
    rerunRun: deliveries.rerunRun,
    triggerRuns: deliveries.triggerRuns,
    reconcileSource: (source) => reconcile.reconciler.reconcile(source),
    purgeRetention: (request) => retention.purge(request),
    migrateStorage: storageMigration(config, store, storage),
    cluster: clusterAdmin(clusterNode, store.cluster, cluster.clusterId, p.faults, workerReports),
  };
  mountAdminApi(router, { adminTokens: store.adminTokens, failures: authFailures, addressOf, metrics, log }, adminDeps);
  // The web view: the same admin API behind a session cookie, sessions in the database (any coordinator serves them).
  const ui = openUiRoom({
    basePath: config.basePath,
    sessions: store.uiSessions,
    adminTokens: store.adminTokens,
    admin: adminDeps,
    clock: deadlines,
    sessionTtlMs: config.uiSessionMs,
    failures: authFailures,
    addressOf,
    trustedProxies: proxies,
    assetRoots: packageAssetRoots(),
    onAuthFailure: () => metrics.authFailures.inc({ kind: 'admin' }),
    log,
  });
  for (const [method, route, handler] of ui.routes) router.on(method, route, handler);

  const { listener } = p;
  listener.serve(router, hub, addressOf);
  // Closed again here (a no-op the second time) so a stop closes the port before the hub and the database.
  cleanups.push(() => listener.close());
  // Runs before that close (cleanups run in reverse): an open live feed would keep the listener from closing.
  cleanups.push(() => ui.stop());
  const { url, port } = listener;

  const duties = new CoordinatorDuties(
    leadership,
    deadlines,
    (duty, e) => log.error({ duty, err: (e as Error).message }, 'coordinator duty failed'),
    // The term of record in the database: a leader deposed before it heard so writes nothing more.
    (term) => store.coordinatorTerm.claim({ term, node: nodeId }, new Date(deadlines.now())),
    (duty, term) => log.warn({ duty, term }, 'duty skipped: a later coordinator term is recorded, this node no longer coordinates'),
  );
  cleanups.push(() => duties.stop());
  for (const duty of runSweeps(runStore, system, { staleThresholdMs: config.staleThresholdMs, staleScanIntervalMs: config.staleScanIntervalMs, clock: deadlines })) duties.add(duty);
  duties.add(dedupKeySweep(store, deadlines, nodeId));
  duties.add(retentionDuty(retention, config.retention, nodeId, (removed) => log.info(removed, 'retention removed old webhook bodies and step logs')));
  // After the shards this node owns were gained above (their deliveries left `received` resumed with
  // them), so a push whose delivery a crash left unprocessed is that delivery's, not a reconcile's.
  duties.add(reconcile.duty, true);
  log.info({ url, nodeId, clusterId: cluster.clusterId, driver: store.driver, clusterPort: clusterNode.links.address?.port }, 'orchestrator listening');

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    clusterPort: clusterNode.links.address?.port,
    nodeId,
    clusterId: cluster.clusterId,
    store,
    log,
    stop: () =>
      (stopping ??= (async () => {
        for (const c of [...cleanups].reverse()) await Promise.resolve(c()).catch((e: Error) => log.warn({ err: e.message }, 'shutdown step failed'));
        log.flush?.();
      })()),
  };
}

/** The database's time, sampled now and every 30 s against `local`; a failed sample keeps the last offset. */
async function startDatabaseClock(store: Store, local: Clock, log: Logger): Promise<DatabaseClock> {
  const clock = await DatabaseClock.start(store.clockSource, local, {
    onError: (e) => log.warn({ err: e.message }, 'database time not sampled; deadlines keep the last clock offset'),
  });
  log.info({ skewMs: clock.skewMs(), roundTripMs: clock.roundTripMs() }, 'deadlines follow the database clock');
  return clock;
}

/** The admin API's view of the agents connected to this node (the last word heard is known only here). */
function connectedAgents(hub: AgentHub): ConnectedAgent[] {
  return hub.directory.list().map((a) => agentView(a, a.since, hub.lastSeenOf(a.agentId)));
}

/** Agents other nodes hold, as their slot reports (every 2 s) describe them. */
function agentsElsewhere(hub: AgentHub): ConnectedAgent[] {
  return hub.agentsElsewhere().map((a) => agentView(a, a.connectedAt, a.lastSeenAt));
}

type AgentFacts = Pick<RemoteAgent, 'agentId' | 'labels' | 'active' | 'maxConcurrency' | 'version' | 'hostname' | 'node'>;

function agentView(a: AgentFacts, connectedAt: number | undefined, lastSeenAt: number | undefined): ConnectedAgent {
  return {
    id: a.agentId,
    labels: a.labels,
    slotsInUse: a.active,
    maxConcurrency: a.maxConcurrency,
    version: a.version ?? null,
    hostname: a.hostname ?? null,
    node: a.node,
    connectedAt: iso(connectedAt),
    lastSeenAt: iso(lastSeenAt),
  };
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
