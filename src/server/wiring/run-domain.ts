import type { ActorSystem } from '../../actors/index.js';
import type { AgentHub } from '../../agents/index.js';
import type { ShardTable } from '../../cluster/index.js';
import type { SourceCatalog } from '../../deliveries/index.js';
import { HubDispatcher } from '../../dispatch/index.js';
import { currentGroupRules, envGroupRef, registerEnvGroupActor, withCurrentRules } from '../../environments/index.js';
import { admissionRun, openConcurrencyGate, registerRunActor, runRef, RunAdmission, type AdmissionRun, type EnvironmentGatePorts } from '../../runs/index.js';
import { RepositoryRunStore, type RunRecord, type StepLogStore, type Store } from '../../store/index.js';
import type { OrchestratorConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { watchPendingHolds, type OrchestratorMetrics } from '../metrics.js';
import type { SecretBackends, SecretStore } from '../../secrets/index.js';
import type { GithubWiring } from './github.js';
import { githubCheckRuns } from './github-checks.js';
import type { Clock } from '../../clock/index.js';
import { jobInputSource } from './job-inputs.js';

export interface RunDomainParts {
  config: OrchestratorConfig;
  store: Store;
  system: ActorSystem;
  shards: ShardTable;
  hub: AgentHub;
  catalog: SourceCatalog;
  github: GithubWiring;
  /** Timers of the check-run reporter (its debounce and retries). */
  clock: Clock;
  stepLogs: StepLogStore;
  log: Logger;
  /** Sealed secrets (the master key's): the job inputs' secrets are opened with it. */
  secrets: SecretStore;
  /** Backends besides the database (Vault), read with their configs opened at each dispatch. */
  secretBackends?: Pick<SecretBackends, 'forDispatch'>;
  metrics?: OrchestratorMetrics;
  /** A run's page in the web view as browsers reach it, when the orchestrator knows its address. */
  runPage?: (runId: string, jobId?: string) => string;
}

/**
 * The RunActor kind registered on this node's actor system, over the store (RunStore port) and the
 * agent hub (Dispatcher port), behind the workflow-concurrency gate: the ConcurrencyGroupActor kind,
 * and this node's front to it. Returns the front, which every new run passes before its actor starts it.
 */
export function wireRunDomain(p: RunDomainParts): { admission: RunAdmission; runStore: RepositoryRunStore; stop(): void } {
  const { store, system, log } = p;
  const admission = openConcurrencyGate(
    system,
    { get: (runId) => store.runs.get(runId), unfinished: (group) => store.runs.listNonTerminal({ group }) },
    (runId, e) => log.error({ runId, err: (e as Error)?.message }, 'run admission failed'),
  );
  const runStore = new RepositoryRunStore(store);
  const environments = wireEnvironmentGates(system, store, runStore, log);
  const { metrics } = p;
  if (metrics) watchPendingHolds(metrics, () => store.holds.pendingByEnvironment());
  const checks = githubCheckRuns({ github: p.github, catalog: p.catalog, stepLogs: p.stepLogs, clock: p.clock, log, metrics, ...(p.runPage && { runPage: p.runPage }) });
  registerRunActor(system, {
    store: runStore,
    environments,
    inputs: jobInputSource(store, p.secrets, p.secretBackends),
    logs: p.stepLogs,
    observer: {
      foreignClaim: (claim) => p.hub.refusedClaim(claim),
      logsNotStored: (runId, jobId, e) => log.warn({ runId, jobId, err: (e as Error)?.message }, 'log chunk not stored'),
      // Only GitHub runs have checks: other runs cost the reporter nothing, not even its bookkeeping.
      runStarted: (run, jobs, steps) => fromGithub(run) && checks.runStarted(run, jobs, steps),
      jobChanged: (run, job, steps) => fromGithub(run) && checks.jobChanged(run, job, steps),
      stepChanged: (run, job, step) => fromGithub(run) && checks.stepChanged(run, job, step),
      runCompleted: (run, jobs) => {
        log.info({ runId: run.id, workflow: run.workflowName, status: run.status, error: run.error ?? undefined }, 'run finished');
        void admission.finished(admissionRun(run));
        if (fromGithub(run)) checks.runCompleted(run, jobs);
      },
      gateOutcome: (_run, _job, outcome) => (outcome.kind === 'rejected' ? metrics?.gateRejections : metrics?.holdsExpired)?.inc({ gate: outcome.gate }),
    },
    dispatcher: new HubDispatcher({
      hub: p.hub,
      // A GitHub App's installation token for GitHub runs; the source's own token for the rest.
      gitAuth: async (run) => (await p.github.cloneAuth(run)) ?? p.catalog.cloneAuth(run.sourceId),
      epochOfRun: (runId) => p.shards.epochOf(system.shardOf(runId)),
    }),
    options: { ackTimeoutMs: p.config.dispatchAckTimeoutMs, recoveryWindowMs: p.config.agentRecoveryWindowMs, queueTimeoutMs: p.config.queueTimeoutMs },
  });
  return { admission, runStore, stop: () => checks.stop() };
}

function fromGithub(run: { event?: unknown }): boolean {
  return (run.event as { sourceKind?: unknown } | null | undefined)?.sourceKind === 'github';
}

/** An EnvGroupActor answers a slot request within this, or the job is gated again on the next resume. */
const SLOT_ASK_MS = 10_000;

/**
 * The EnvGroupActor kind (environment concurrency groups): its notices go to the run's actor
 * wherever it lives, and it rebuilds from the slots the jobs keep on record. Returns the RunActors'
 * side: the org's environments from the store, and slot requests and releases to the groups.
 */
function wireEnvironmentGates(system: ActorSystem, store: Store, runStore: RepositoryRunStore, log: Logger): EnvironmentGatePorts {
  registerEnvGroupActor(system, {
    notify: (group, n) => runRef(system, n.runId).tell({ type: 'env_slot', jobId: n.jobId, group: group.group, verdict: n.verdict, reason: n.reason }),
    // The jobs' slots, under the environment's rules as they are now (an operator's change included).
    load: async (group) => withCurrentRules(await runStore.environmentSlots(group.orgId, group.group), currentGroupRules(await store.environments.list(group.orgId), group.group)),
    undelivered: (group, n, e) => log.warn({ ...group, runId: n.runId, jobId: n.jobId, err: (e as Error)?.message }, 'environment slot notice not delivered'),
  });
  return {
    list: (orgId) => store.environments.list(orgId),
    request: (orgId, group, r) => envGroupRef(system, { orgId, group }).ask({ type: 'request', ...r }, SLOT_ASK_MS),
    release: (orgId, group, job) => envGroupRef(system, { orgId, group }).tell({ type: 'release', ...job }),
  };
}

/**
 * Runs as the concurrency gate takes them back: every non-terminal run's actor is woken so it
 * reloads from the store and carries on; pending runs go back to their group's actor, which
 * rebuilds its places from the store and admits nobody twice.
 */
export function admissionRuns(runs: readonly RunRecord[]): AdmissionRun[] {
  return runs.map(admissionRun);
}
