/**
 * An edge worker's agent hub: tokens checked against the cluster view (a coordinator asked about
 * one made since), reports sent through the worker's relay, registrations recorded by the
 * coordinators, and the jobs a returning link finds still running announced to their runs.
 */
import type { ActorSystem } from '../../actors/index.js';
import { AgentHub, type JobRef, type TokenGrant } from '../../agents/index.js';
import type { FailedAuthLimit } from '../../auth-guard/index.js';
import type { Clock } from '../../clock/index.js';
import { jobEventsToRuns, type RunReports } from '../../dispatch/index.js';
import { tellRunsAgentBack } from '../../runs/index.js';
import { hashToken } from '../../secrets/index.js';
import type { WorkerAgentBody, WorkerLinkKinds } from '../../transport/index.js';
import type { ClusterView, WorkerOutbox, WorkerRelay } from '../../worker/index.js';
import type { OrchestratorConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { OrchestratorMetrics } from '../metrics.js';
import type { CoordinatorLinks } from './coordinator-links.js';

export interface WorkerHubParts {
  config: OrchestratorConfig;
  nodeId: string;
  clock: Clock;
  system: ActorSystem;
  metrics: OrchestratorMetrics;
  log: Logger;
  authFailures: FailedAuthLimit;
  view: ClusterView;
  relay: WorkerRelay;
  outbox: Pick<WorkerOutbox, 'holdsJob'>;
  kinds: WorkerLinkKinds;
  coordinators: CoordinatorLinks;
  /** Each agent's last registration, by agent id: told again to a coordinator that links in. */
  registrations: Map<string, WorkerAgentBody>;
}

export function workerHub(p: WorkerHubParts): AgentHub {
  const { kinds, log, metrics, coordinators } = p;
  // The store's word on which jobs an agent holds, less those whose reports this worker holds: the
  // agent handed their results over before it restarted, so they are not lost with it. With no
  // coordinator reachable, not checked now.
  const held = async (agentId: string): Promise<JobRef[]> => ((await coordinators.ask(kinds.jobsHeld, { agentId }))?.jobs ?? []).filter((j) => !p.outbox.holdsJob(j.jobId));
  // A token made since the last view: a coordinator's word, so a new agent need not wait for the next view.
  const askToken = async (token: string): Promise<TokenGrant | null> => {
    const found = (await coordinators.ask(kinds.agentToken, { hash: hashToken(token) }))?.token;
    return found && (found.expiresAt === null || found.expiresAt > p.clock.now()) ? { tokenId: found.id, labels: found.labels, maxConcurrency: found.maxConcurrency } : null;
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
      const record = { agentId, tokenId: grant.tokenId, labels: reg.labels, hostname: reg.hostname };
      p.registrations.set(agentId, record);
      coordinators.tell(kinds.agentRegistered, record);
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

/** Tell the runs `owned` picks which of their jobs this worker's agents still run (a link came back). */
export function announceJobs(hub: AgentHub, reports: RunReports, owned: (runId: string) => boolean): void {
  for (const agent of hub.directory.list()) {
    const jobs = hub.dispatcher.jobsOf(agent.agentId).filter((j) => j.sent && owned(j.runId));
    if (jobs.length > 0) tellRunsAgentBack((runId, msg) => reports.tell(runId, msg), agent.agentId, jobs);
  }
}
