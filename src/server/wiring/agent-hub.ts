import type { ActorSystem } from '../../actors/index.js';
import { AgentHub } from '../../agents/index.js';
import type { FailedAuthLimit } from '../../auth-guard/index.js';
import type { Clock } from '../../clock/index.js';
import { jobEventsToRuns } from '../../dispatch/index.js';
import { hashToken } from '../../secrets/index.js';
import type { Store } from '../../store/index.js';
import type { OrchestratorConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { OrchestratorMetrics } from '../metrics.js';

export interface AgentHubParts {
  config: OrchestratorConfig;
  nodeId: string;
  clock: Clock;
  store: Pick<Store, 'agents' | 'jobs'>;
  system: ActorSystem;
  metrics: OrchestratorMetrics;
  log: Logger;
  /** Shared with the admin API: an address's failures count against one limit, whichever door. */
  authFailures: FailedAuthLimit;
}

/** This node's agent hub: tokens checked against the store, reports routed to RunActors, metrics fed. */
export function createAgentHub(p: AgentHubParts): AgentHub {
  const { store, log, metrics } = p;
  return new AgentHub({
    nodeId: p.nodeId,
    clock: p.clock,
    system: p.system,
    heartbeatTimeoutMs: p.config.agentHeartbeatTimeoutMs,
    validateToken: async (token) => {
      const record = await store.agents.findValidToken(hashToken(token), new Date(p.clock.now()));
      return record ? { tokenId: record.id, labels: record.labels, maxConcurrency: record.maxConcurrency } : null;
    },
    events: jobEventsToRuns({
      system: p.system,
      held: async (agentId) =>
        (await store.jobs.listByStatus(['queued', 'running', 'recovering', 'cancelling'], { agentId })).map((j) => ({ runId: j.runId, jobId: j.id })),
      log: (fields, msg) => log.info(fields, msg),
    }),
    onAgentCountChange: (n) => metrics.agentsActive.set(n),
    onQueueDepth: (pending, dispatched) => {
      metrics.dispatchQueueDepth.set({ status: 'pending' }, pending);
      metrics.dispatchQueueDepth.set({ status: 'dispatched' }, dispatched);
    },
    onJobDispatched: () => metrics.jobsDispatched.inc(),
    onRegistered: (agentId, reg, grant) => {
      store.agents.register({ id: agentId, tokenId: grant.tokenId, labels: reg.labels, hostname: reg.hostname, connectedNode: p.nodeId }, new Date(p.clock.now())).catch(
        (e: Error) => log.warn({ agentId, err: e.message }, 'agent registration not recorded'),
      );
      log.info({ agentId, labels: reg.labels, maxConcurrency: reg.maxConcurrency }, 'agent registered');
    },
    authFailed: (address) => {
      metrics.authFailures.inc({ kind: 'agent' });
      return p.authFailures.fail(address);
    },
    warn: (msg, f) => log.warn(f ?? {}, msg),
    // A queued job is placed only while its run's shard is acted on here (not lost, lease held).
    wanted: (request) => p.system.locate(request.runId)?.node === p.nodeId,
  });
}
