import type { ActorSystem } from '../../actors/index.js';
import type { AgentHub } from '../../agents/index.js';
import type { ShardTable } from '../../cluster/index.js';
import type { SourceCatalog } from '../../deliveries/index.js';
import { HubDispatcher } from '../../dispatch/index.js';
import {
  groupKey,
  groupOf,
  registerConcurrencyGroupActor,
  registerRunActor,
  runRef,
  RunAdmission,
  SUPERSEDED_REASON,
  type AdmissionRun,
  type GroupIdentity,
} from '../../runs/index.js';
import { RepositoryRunStore, type RunRecord, type StepLogStore, type Store } from '../../store/index.js';
import type { OrchestratorConfig } from '../config.js';
import type { Logger } from '../logger.js';

export interface RunDomainParts {
  config: OrchestratorConfig;
  store: Store;
  system: ActorSystem;
  shards: ShardTable;
  hub: AgentHub;
  catalog: SourceCatalog;
  stepLogs: StepLogStore;
  log: Logger;
}

/**
 * The RunActor kind registered on this node's actor system, over the store (RunStore port) and the
 * agent hub (Dispatcher port), behind the workflow-concurrency gate: the ConcurrencyGroupActor kind,
 * and this node's front to it. Returns the front, which every new run passes before its actor starts it.
 */
export function wireRunDomain(p: RunDomainParts): { admission: RunAdmission; runStore: RepositoryRunStore } {
  const { store, system, log } = p;
  registerConcurrencyGroupActor(system, {
    groupRuns: async (group) => (await store.runs.listNonTerminal({ group })).map(admissionRun),
    describe: (runId) => describeRun(store, runId),
    start: (runId) => runRef(system, runId).tell({ type: 'start' }),
    supersede: (runId) => runRef(system, runId).tell({ type: 'cancel', reason: SUPERSEDED_REASON }),
  });
  const admission = runAdmission(store, system, log);
  const runStore = new RepositoryRunStore(store);
  registerRunActor(system, {
    store: runStore,
    logs: p.stepLogs,
    observer: {
      foreignClaim: (claim) => p.hub.refusedClaim(claim),
      logsNotStored: (runId, jobId, e) => log.warn({ runId, jobId, err: (e as Error)?.message }, 'log chunk not stored'),
      runCompleted: (run) => {
        log.info({ runId: run.id, workflow: run.workflowName, status: run.status, error: run.error ?? undefined }, 'run finished');
        void admission.finished({ runId: run.id, status: run.status, sourceId: run.sourceId, workflowName: run.workflowName, concurrency: run.concurrency });
      },
    },
    dispatcher: new HubDispatcher({
      hub: p.hub,
      gitAuth: (sourceId) => p.catalog.cloneAuth(sourceId),
      epochOfRun: (runId) => p.shards.epochOf(system.shardOf(runId)),
    }),
    options: { ackTimeoutMs: p.config.dispatchAckTimeoutMs, recoveryWindowMs: p.config.agentRecoveryWindowMs, queueTimeoutMs: p.config.queueTimeoutMs },
  });
  return { admission, runStore };
}

/**
 * Runs as the concurrency gate takes them back: every non-terminal run's actor is woken so it
 * reloads from the store and carries on; pending runs go back to their group's actor, which
 * rebuilds its places from the store and admits nobody twice.
 */
export function admissionRuns(runs: readonly RunRecord[]): AdmissionRun[] {
  return runs.map(admissionRun);
}

function admissionRun(r: RunRecord): AdmissionRun {
  return { runId: r.id, status: r.status, sourceId: r.sourceId, workflowName: r.workflowName, concurrency: r.concurrency };
}

async function describeRun(store: Pick<Store, 'runs'>, runId: string): Promise<AdmissionRun | null> {
  const r = await store.runs.get(runId);
  return r && admissionRun(r);
}

/** This node's front of the workflow-concurrency gate: what a run says (the store), and where its group's actor is (the system). */
function runAdmission(store: Pick<Store, 'runs'>, system: ActorSystem, log: Logger): RunAdmission {
  return new RunAdmission(system, {
    describe: (runId) => describeRun(store, runId),
    start: (runId) => runRef(system, runId).tell({ type: 'start' }),
    unfinishedGroups: async () => {
      const groups = new Map<string, GroupIdentity>();
      for (const r of await store.runs.listNonTerminal()) {
        const group = groupOf(admissionRun(r));
        if (group) groups.set(groupKey(group), group);
      }
      return [...groups.values()];
    },
    failed: (runId, e) => log.error({ runId, err: (e as Error)?.message }, 'run admission failed'),
  });
}
