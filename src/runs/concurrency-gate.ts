/**
 * The workflow-concurrency gate of one node, over whatever keeps the runs: the group actor kind
 * registered on the node's actor system, and this node's front to it (RunAdmission). The
 * orchestrator opens it over PostgreSQL, the cluster simulator over the in-memory store.
 */
import type { ActorSystem } from '../actors/index.js';
import { SUPERSEDED_REASON, groupKey, groupOf, type AdmissionRun, type GroupIdentity } from './concurrency-groups.js';
import { registerConcurrencyGroupActor } from './concurrency-group-actor.js';
import { runRef } from './run-actor.js';
import { RunAdmission } from './run-admission.js';
import type { RunStatus } from './statuses.js';

/** What the gate reads of a stored run (both stores' run records have it). */
export interface GatedRun {
  id: string;
  status: RunStatus;
  sourceId?: string | null;
  workflowName: string;
  concurrency?: { group: string; cancelInProgress: boolean; max: number } | null;
}

/** Where the gate reads runs. */
export interface GateStore {
  get(runId: string): Promise<GatedRun | null | undefined>;
  /** Unfinished runs, oldest first (created, then id); only the group's when it is given. */
  unfinished(group?: GroupIdentity): Promise<readonly GatedRun[]>;
}

export function admissionRun(r: GatedRun): AdmissionRun {
  return { runId: r.id, status: r.status, sourceId: r.sourceId, workflowName: r.workflowName, concurrency: r.concurrency };
}

/** Register the group actor kind on `system` and return this node's front to the gate. */
export function openConcurrencyGate(system: ActorSystem, store: GateStore, failed?: (runId: string, error: unknown) => void): RunAdmission {
  const describe = async (runId: string) => {
    const r = await store.get(runId);
    return r ? admissionRun(r) : null;
  };
  const start = (runId: string) => runRef(system, runId).tell({ type: 'start' });
  registerConcurrencyGroupActor(system, {
    groupRuns: async (group) => (await store.unfinished(group)).map(admissionRun),
    describe,
    start,
    supersede: (runId) => runRef(system, runId).tell({ type: 'cancel', reason: SUPERSEDED_REASON }),
  });
  return new RunAdmission(system, {
    describe,
    start,
    unfinishedGroups: async () => {
      const groups = new Map<string, GroupIdentity>();
      for (const r of await store.unfinished()) {
        const group = groupOf(admissionRun(r));
        if (group) groups.set(groupKey(group), group);
      }
      return [...groups.values()];
    },
    failed,
  });
}
