import type { IncomingMessage } from 'node:http';
import { ActorSystem } from '../actors/index.js';
import type { ConnectedAgent } from '../admin/index.js';
import type { AgentHub } from '../agents/index.js';
import { FailedAuthLimit, clientAddress, trustedProxies } from '../auth-guard/index.js';
import { systemClock, type Clock } from '../clock/index.js';
import { CoordinatorDuties, ShardTable, SingleNodeLeadership } from '../cluster/index.js';
import { registerRunActor, runRef, isTerminalRunStatus, RunAdmission, SUPERSEDED_REASON } from '../runs/index.js';
import { createDatabaseSecretStore, resolveSecretKey } from '../secrets/index.js';
import { openFilesystemStorage, openStore, type Store } from '../store/index.js';
import { GitMirrors, LockfileReader } from '../workflows/index.js';
import { announceAdminToken, ensureAdminToken, nodeIdentity, type Terminal } from './bootstrap.js';
import type { OrchestratorConfig } from './config.js';
import { DeliveryProcessor } from './deliveries/processor.js';
import { Router } from './http/router.js';
import { HubDispatcher } from './hub-dispatcher.js';
import { triggerRuns } from './manual-trigger.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { mountAdminApi } from './routes/admin-api.js';
import { healthRoutes } from './routes/health.js';
import { webhookRoutes } from './routes/webhooks.js';
import { rerunRun } from './reruns.js';
import { RepositoryRunStore } from './run-store.js';
import { runSweeps } from './sweeps.js';
import { SourceCatalog } from './source-catalog.js';
import { createAgentHub } from './wiring/agent-hub.js';
import { webhookIntake } from './wiring/intake.js';
import { bindListener, type Listener } from './wiring/listener.js';

export const VERSION = '0.1.0';

export interface Orchestrator {
  url: string;
  port: number;
  nodeId: string;
  store: Store;
  log: Logger;
  stop(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  log?: Logger;
  /** Print the first-start admin token on the terminal (the CLI does; tests don't). */
  announce?: boolean;
  /** Where the token is shown, and only when it is a TTY; process.stdout when absent. */
  terminal?: Terminal;
}

/**
 * The composition root: open the store, bootstrap identity and tokens, wire the actor system,
 * agent hub, webhook intake and admin API onto one HTTP listener, then resume what a previous
 * process left unfinished. A single node is a cluster of one: it owns all 256 shards.
 */
export async function startOrchestrator(config: OrchestratorConfig, options: StartOptions = {}): Promise<Orchestrator> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger(config.logLevel);
  for (const warning of config.warnings ?? []) log.warn(warning);
  // The port first: a busy port fails the start before the data directory, the database or a token is touched.
  const listener = await bindListener(config, log);
  const cleanups: (() => Promise<void> | void)[] = [() => listener.close()];
  try {
    const nodeId = nodeIdentity(config.dataDir, config.instanceId);
    const secretKey = resolveSecretKey({ configured: config.secretKey, dataDir: config.dataDir });
    const store = await openStore({
      url: config.databaseUrl,
      dataDir: config.dataDir,
      onIdleError: (e) => log.warn({ err: e.message }, 'database connection error'),
    });
    cleanups.push(() => store.close());
    const announce = options.announce ?? false;
    return await assemble(config, { clock, log, nodeId, store, secretKey: secretKey.key, announce, terminal: options.terminal ?? process.stdout, listener, cleanups });
  } catch (e) {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
    throw e;
  }
}

interface Parts {
  clock: Clock;
  log: Logger;
  nodeId: string;
  store: Store;
  secretKey: import('../secrets/index.js').MasterKey;
  announce: boolean;
  terminal: Terminal;
  /** Bound before anything else; answers 503 until the routes below are handed to it. */
  listener: Listener;
  cleanups: (() => Promise<void> | void)[];
}

async function assemble(config: OrchestratorConfig, p: Parts): Promise<Orchestrator> {
  const { clock, log, nodeId, store, cleanups } = p;
  const applied = await store.migrations.prepare({ autoMigrate: config.autoMigrate });
  if (applied.length) log.info({ applied }, 'database migrated');
  const shards = await claimAllShards(store, nodeId);
  const boot = await ensureAdminToken(store.adminTokens, config.dataDir, config.bootstrapAdminToken);
  if (p.announce) announceAdminToken(boot, p.terminal, log);

  const metrics = createMetrics();
  // One failure limit for both doors that take credentials (admin API, agent socket).
  const authFailures = new FailedAuthLimit(clock);
  const proxies = trustedProxies(config.trustedProxies);
  const addressOf = (req: IncomingMessage) => clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], proxies);
  const vault = createDatabaseSecretStore(store.sealedSecrets, { current: p.secretKey }, clock);
  const storage = openFilesystemStorage(config.dataDir);
  const leadership = new SingleNodeLeadership();
  const system = new ActorSystem({
    nodeId,
    clock,
    shardMap: shards,
    onError: (f) => log.error({ kind: f.kind, key: f.key, phase: f.phase, stopped: f.stopped, err: (f.error as Error)?.message }, 'actor failed'),
    onDeadLetter: (t, _m, reason) => log.warn({ kind: t.kind, key: t.key, reason: reason.message }, 'message not delivered'),
  });
  cleanups.push(() => system.shutdown());

  const hub = createAgentHub({ config, nodeId, clock, store, system, metrics, log, authFailures });
  cleanups.push(() => hub.stop());

  const catalog = new SourceCatalog(store.sources, vault, clock);
  const sourceToken = async (sourceId: string | null | undefined) => {
    const source = sourceId ? await catalog.source(sourceId) : null;
    return source ? catalog.secret(source, 'token') : null;
  };
  const admission = runAdmission(store, system, log);
  registerRunActor(system, {
    store: new RepositoryRunStore(store),
    logs: storage.stepLogs,
    observer: {
      foreignClaim: (claim) => hub.refusedClaim(claim),
      logsNotStored: (runId, jobId, e) => log.warn({ runId, jobId, err: (e as Error)?.message }, 'log chunk not stored'),
      runCompleted: (run) => {
        log.info({ runId: run.id, workflow: run.workflowName, status: run.status, error: run.error ?? undefined }, 'run finished');
        void admission.finished(run.id);
      },
    },
    dispatcher: new HubDispatcher({
      hub,
      gitAuth: async (sourceId) => {
        const token = await sourceToken(sourceId);
        return token ? { username: 'x-access-token', password: token } : undefined;
      },
      epochOfRun: (runId) => shards.ownerOf(system.shardOf(runId))?.epoch ?? 1,
    }),
    options: { ackTimeoutMs: config.dispatchAckTimeoutMs, recoveryWindowMs: config.agentRecoveryWindowMs, queueTimeoutMs: config.queueTimeoutMs },
  });

  // Every new run passes the workflow-concurrency gate before its actor starts it.
  const runCreation = { store, epochOf: (shard: number) => shards.ownerOf(shard)?.epoch ?? 1, start: (runId: string, hint?: { grouped: boolean }) => void admission.start(runId, hint) };
  const mirrors = new GitMirrors({ dataDir: config.dataDir });
  const lockfiles = new LockfileReader();
  const gitSourceToken = (s: { orgId: string; id: string }) => catalog.secret(s, 'token');
  const processor = new DeliveryProcessor({
    ...runCreation,
    mirrors,
    lockfiles,
    blobs: storage.blobs,
    sources: catalog,
    metrics,
    log,
  });
  // Runs before the database closes (cleanups run in reverse): a delivery mid-way finishes its write.
  cleanups.push(() => processor.idle());

  const router = new Router(config.basePath);
  healthRoutes(router, { version: VERSION, startedAt: clock.now(), nodeId, metrics, probeDatabase: () => store.ping() });
  webhookRoutes(router, {
    metrics,
    log,
    addressOf,
    admit: webhookIntake(store.deliveries, catalog, clock),
    accepted: (d) => processor.enqueue({ orgId: d.orgId, deliveryId: d.deliveryId }, d.rawBody),
  });
  mountAdminApi(router, { adminTokens: store.adminTokens, failures: authFailures, addressOf, metrics, log }, {
    store,
    secrets: vault,
    sourcesChanged: () => catalog.invalidate(),
    logs: storage.stepLogs,
    disconnectToken: (tokenId) => hub.revokeToken(tokenId),
    waitReason: (runsOn) => hub.waitReason(runsOn),
    connectedAgents: () => connectedAgents(hub),
    runIsTerminal: async (runId) => {
      const run = await store.runs.get(runId);
      return !run || isTerminalRunStatus(run.status);
    },
    cancelRun: async (runId, force) => {
      const reply = await runRef(system, runId)
        .ask<{ ok: boolean; ignored?: string }>({ type: 'cancel', force, reason: force ? 'cancelled by an operator (forced)' : 'cancelled by an operator' }, CANCEL_ASK_MS)
        // The message stays queued after a timeout: the actor is busy and will still cancel.
        .catch(() => ({ ok: true }) as const);
      return reply.ok ? { accepted: true } : { accepted: false, reason: reply.ignored };
    },
    rerunRun: (runId, o) => rerunRun(runCreation, runId, o),
    triggerRuns: (input) => triggerRuns({ ...runCreation, mirrors, lockfiles, sourceToken: gitSourceToken }, input),
  });

  const { listener } = p;
  listener.serve(router, hub, addressOf);
  // Closed again here (a no-op the second time) so a stop closes the port before the hub and the database.
  cleanups.push(() => listener.close());
  const { url, port } = listener;

  const duties = new CoordinatorDuties(leadership, clock, (duty, e) => log.error({ duty, err: (e as Error).message }, 'coordinator duty failed'));
  cleanups.push(() => duties.stop());
  for (const duty of runSweeps(store, system, { staleThresholdMs: config.staleThresholdMs, staleScanIntervalMs: config.staleScanIntervalMs, now: () => clock.now() })) {
    duties.add(duty);
  }
  await resumeRuns(store, admission, log);
  const resumed = await processor.resume();
  if (resumed) log.info({ deliveries: resumed }, 'resuming deliveries left unprocessed');
  log.info({ url, nodeId, driver: store.driver }, 'orchestrator listening');

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    nodeId,
    store,
    log,
    stop: () =>
      (stopping ??= (async () => {
        for (const c of [...cleanups].reverse()) await Promise.resolve(c()).catch((e: Error) => log.warn({ err: e.message }, 'shutdown step failed'));
        log.flush?.();
      })()),
  };
}

/** A cluster of one owns every shard; shards recorded for another node id move here at a new epoch. */
async function claimAllShards(store: Store, nodeId: string): Promise<ShardTable> {
  await store.shards.seed(nodeId);
  const owners = await store.shards.list();
  for (const o of owners) {
    if (o.ownerNode !== nodeId) {
      await store.shards.assign(o.shard, nodeId, o.epoch + 1);
      o.ownerNode = nodeId;
      o.epoch += 1;
    }
  }
  return new ShardTable(owners.map((o) => ({ shard: o.shard, node: o.ownerNode, epoch: o.epoch })));
}

/**
 * Every non-terminal run's actor is woken so it reloads from the store and carries on; pending
 * runs pass the concurrency gate again, which rebuilds its places from the same list.
 */
async function resumeRuns(store: Store, admission: RunAdmission, log: Logger): Promise<void> {
  const runs = await store.runs.listNonTerminal();
  await admission.restore(runs.map((r) => ({ runId: r.id, status: r.status, sourceId: r.sourceId, workflowName: r.workflowName, concurrency: r.concurrency })));
  if (runs.length) log.info({ runs: runs.length }, 'resuming unfinished runs');
}

const CANCEL_ASK_MS = 10_000;

/** The workflow-concurrency gate over the store (what a run says) and the actor system (start, supersede). */
function runAdmission(store: Store, system: ActorSystem, log: Logger): RunAdmission {
  return new RunAdmission({
    describe: async (runId) => {
      const r = await store.runs.get(runId);
      return r && { runId: r.id, status: r.status, sourceId: r.sourceId, workflowName: r.workflowName, concurrency: r.concurrency };
    },
    start: (runId) => runRef(system, runId).tell({ type: 'start' }),
    supersede: (runId) => runRef(system, runId).tell({ type: 'cancel', reason: SUPERSEDED_REASON }),
    failed: (runId, e) => log.error({ runId, err: (e as Error).message }, 'run admission failed'),
  });
}

/** The admin API's view of the agents connected to this node. */
function connectedAgents(hub: AgentHub): ConnectedAgent[] {
  return hub.directory.list().map((a) => ({
    id: a.agentId,
    labels: a.labels,
    slotsInUse: a.active,
    maxConcurrency: a.maxConcurrency,
    version: a.version ?? null,
    hostname: a.hostname ?? null,
    node: a.node,
    connectedAt: a.since === undefined ? null : new Date(a.since).toISOString(),
  }));
}
