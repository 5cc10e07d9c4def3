import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// The webhook decision labels belong to the deliveries room, which reports them.
import { WEBHOOK_RESULTS } from '../deliveries/index.js';

export { WEBHOOK_RESULTS };
export type { WebhookResult } from '../deliveries/index.js';

/**
 * The orchestrator's Prometheus metrics, named exactly as seed 003 lists them (`kici_*`, no
 * `orch_` infix). One registry per orchestrator instance so several can live in one test process.
 */
export function createMetrics() {
  const registry = new Registry();
  // prom-client's default names already start with `process_` or `nodejs_`: `kici_` alone gives
  // `kici_process_cpu_seconds_total`, not `kici_process_process_…`.
  collectDefaultMetrics({ register: registry, prefix: 'kici_' });
  const m = {
    registry,
    webhooksReceived: new Counter({
      name: 'kici_webhooks_received_total',
      help: 'Webhook deliveries received, by source kind and event type',
      labelNames: ['source', 'event'] as const,
      registers: [registry],
    }),
    webhooksProcessed: new Counter({
      name: 'kici_webhooks_processed_total',
      help: 'Webhook deliveries processed, by decision',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    triggerMatchDuration: new Histogram({
      name: 'kici_trigger_match_duration_seconds',
      help: 'Time to match a delivery against the lock file triggers',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
    lockfileCacheHits: new Counter({
      name: 'kici_lockfile_cache_hits_total',
      help: 'Lock file reads served from the cache',
      registers: [registry],
    }),
    lockfileCacheMisses: new Counter({
      name: 'kici_lockfile_cache_misses_total',
      help: 'Lock file reads that went to the repository',
      registers: [registry],
    }),
    githubCheckRuns: new Counter({
      name: 'kici_github_check_run_total',
      help: 'GitHub check-run calls, by operation (create, update, find) and result (ok, error)',
      labelNames: ['operation', 'result'] as const,
      registers: [registry],
    }),
    agentsActive: new Gauge({ name: 'kici_agents_active', help: 'Connected, registered agents', registers: [registry] }),
    dispatchQueueDepth: new Gauge({
      name: 'kici_dispatch_queue_depth',
      help: 'Jobs waiting for an agent (pending) or for its acknowledgement (dispatched)',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    jobsDispatched: new Counter({
      name: 'kici_jobs_dispatched_total',
      help: 'job.dispatch frames sent to agents',
      registers: [registry],
    }),
    platformConnectionStatus: new Gauge({
      name: 'kici_platform_connection_status',
      help: 'Platform relay connection (always 0 in independent mode)',
      registers: [registry],
    }),
    dedupHits: new Counter({ name: 'kici_dedup_hits_total', help: 'Duplicate deliveries answered from the first outcome', registers: [registry] }),
    retentionDeleted: new Counter({
      name: 'kici_retention_deleted_total',
      help: 'What retention removed: raw webhook bodies (delivery_payload) and finished runs whose step logs were deleted (step_log)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'kici_auth_failures_total',
      help: 'Failed authentications (wrong or missing admin token, bad agent token), by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    clockSkew: new Gauge({ name: 'kici_clock_skew_seconds', help: 'The database\'s time minus this node\'s clock, in seconds (deadlines are measured against the database\'s)', registers: [registry] }),
    orphansReclaimed: new Counter({ name: 'kici_orphans_reclaimed_total', help: 'Unfinished runs this node took over with shards gained from another node', registers: [registry] }),
    actorMessagesForwarded: new Counter({ name: 'kici_actor_messages_forwarded_total', help: 'Actor messages this node sent to the node owning their shard', registers: [registry] }),
    shardsOwned: new Gauge({ name: 'kici_shards_owned', help: 'Shards this node owns and acts on', registers: [registry] }),
    shardMoves: new Counter({ name: 'kici_shard_moves_total', help: 'Shards this node gained or lost', registers: [registry] }),
    raftTerm: new Gauge({ name: 'kici_raft_term', help: 'The Raft term this node is in', registers: [registry] }),
    raftLeaderChanges: new Counter({ name: 'kici_raft_leader_changes_total', help: 'Times this node saw the cluster\'s leader change', registers: [registry] }),
    raftCommitIndex: new Gauge({ name: 'kici_raft_commit_index', help: 'The highest Raft log index this node knows is committed', registers: [registry] }),
    peersConnected: new Gauge({ name: 'kici_cluster_peers_connected', help: 'Members this node has a live peer link to', registers: [registry] }),
    peerAuthFailures: new Counter({ name: 'kici_peer_auth_failures_total', help: 'Refused peers and joiners at the cluster port (bad certificate, hello, token)', registers: [registry] }),
    workerOutboxDepth: new Gauge({ name: 'kici_worker_outbox_depth', help: 'Edge worker: agent reports held in its outbox for a coordinator it cannot reach', registers: [registry] }),
    workerOutboxBytes: new Gauge({ name: 'kici_worker_outbox_bytes', help: 'Edge worker: bytes its outbox holds on disk', registers: [registry] }),
    workerReplayed: new Counter({ name: 'kici_worker_replayed_total', help: 'Edge worker: held reports delivered to their runs after a coordinator came back', registers: [registry] }),
    holdsPending: new Gauge({
      name: 'kici_environment_holds_pending',
      help: 'Jobs held for review or security review, per organisation and environment (read from the database: the whole cluster)',
      labelNames: ['org', 'environment'],
      registers: [registry],
    }),
    holdsExpired: new Counter({ name: 'kici_environment_holds_expired_total', help: 'Holds nobody decided before their expiry (their jobs were cancelled), by gate', labelNames: ['gate'], registers: [registry] }),
    gateRejections: new Counter({
      name: 'kici_environment_gate_rejections_total',
      help: 'Jobs rejected by an environment protection gate (enabled, branch) or by a reviewer (reviewers, trust)',
      labelNames: ['gate'],
      registers: [registry],
    }),
  };
  m.platformConnectionStatus.set(0);
  m.peerAuthFailures.inc(0);
  m.dispatchQueueDepth.set({ status: 'pending' }, 0);
  m.dispatchQueueDepth.set({ status: 'dispatched' }, 0);
  m.authFailures.inc({ kind: 'admin' }, 0);
  m.authFailures.inc({ kind: 'agent' }, 0);
  // Known label sets start at 0, so a rate() or an alert sees the series before its first event.
  for (const result of WEBHOOK_RESULTS) m.webhooksProcessed.inc({ result }, 0);
  for (const event of ['push', 'tag']) m.webhooksReceived.inc({ source: 'git', event }, 0);
  for (const gate of ['enabled', 'branch', 'trust', 'reviewers']) m.gateRejections.inc({ gate }, 0);
  for (const gate of ['trust', 'reviewers']) m.holdsExpired.inc({ gate }, 0);
  for (const kind of ['delivery_payload', 'step_log']) m.retentionDeleted.inc({ kind }, 0);
  return m;
}

export type OrchestratorMetrics = ReturnType<typeof createMetrics>;

/** What the cluster metrics are read from: this node's Raft and peer links. */
export interface ClusterGauges {
  status(): { term: number; commit: number; leader: number };
  peersConnected(): number;
  onLeaderChange(listener: () => void): () => void;
  onPeerRefused(listener: () => void): () => void;
}

/** Gauges read at scrape time; counters count as things happen. */
export function watchCluster(m: OrchestratorMetrics, cluster: ClusterGauges): () => void {
  // prom-client calls a metric's `collect` at each scrape; its type leaves the property out.
  const onScrape = (gauge: object, read: () => void) => Object.assign(gauge, { collect: read });
  onScrape(m.raftTerm, () => m.raftTerm.set(cluster.status().term));
  onScrape(m.raftCommitIndex, () => m.raftCommitIndex.set(cluster.status().commit));
  onScrape(m.peersConnected, () => m.peersConnected.set(cluster.peersConnected()));
  const offs = [cluster.onLeaderChange(() => m.raftLeaderChanges.inc()), cluster.onPeerRefused(() => m.peerAuthFailures.inc())];
  return () => offs.forEach((off) => off());
}

/**
 * Pending holds per environment, read from the database at scrape time (the seed's query, so every
 * coordinator reports the same cluster-wide figure). A failed read leaves the last figures.
 */
export function watchPendingHolds(m: OrchestratorMetrics, read: () => Promise<readonly { orgId: string; environment: string | null; pending: number }[]>): void {
  Object.assign(m.holdsPending, {
    collect: async () => {
      const rows = await read().catch(() => null);
      if (!rows) return;
      m.holdsPending.reset();
      for (const row of rows) m.holdsPending.set({ org: row.orgId, environment: row.environment ?? '' }, row.pending);
    },
  });
}

/** The edge worker's outbox gauges, read at scrape time. */
export function watchWorkerOutbox(m: OrchestratorMetrics, outbox: { depth: number; bytes: number }): void {
  Object.assign(m.workerOutboxDepth, { collect: () => m.workerOutboxDepth.set(outbox.depth) });
  Object.assign(m.workerOutboxBytes, { collect: () => m.workerOutboxBytes.set(outbox.bytes) });
}

/** `kici_clock_skew_seconds`, read at scrape time from the deadline clock. */
export function watchClockSkew(m: OrchestratorMetrics, skewSeconds: () => number): void {
  Object.assign(m.clockSkew, { collect: () => m.clockSkew.set(skewSeconds()) });
}
