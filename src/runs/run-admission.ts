/**
 * The gate every run passes before its actor is told to start. Runs without a workflow
 * `concurrency` go straight through; the others are admitted by ConcurrencyGroups. Decisions are
 * made one at a time, in the order they were asked for, so "older" and "first come" mean the
 * order in which runs reached the gate. The state is memory only: after a restart `restore` rebuilds
 * it from the runs the store says are not finished.
 */
import { ConcurrencyGroups, type Admission, type GroupedRun } from './concurrency-groups.js';
import { isTerminalRunStatus, type RunStatus } from './statuses.js';

export interface AdmissionRun {
  runId: string;
  status: RunStatus;
  sourceId?: string | null;
  workflowName: string;
  concurrency?: { group: string; cancelInProgress: boolean; max: number } | null;
}

export interface RunAdmissionPorts {
  /** The run as stored now; null when there is no such run. */
  describe(runId: string): Promise<AdmissionRun | null>;
  /** Tell the run's actor to start (or resume) it. */
  start(runId: string): void;
  /** Tell an older run of the group to cancel with reason `superseded`. */
  supersede(runId: string): void;
  /** A decision failed (the store could not be read); the run is left as it is. */
  failed?(runId: string, error: unknown): void;
}

export class RunAdmission {
  private readonly groups = new ConcurrencyGroups();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly ports: RunAdmissionPorts) {}

  /**
   * Start a run now, or park it behind the runs of its group. `grouped: false` (the caller knows
   * the workflow has no concurrency) starts it at once, outside the queue of decisions.
   */
  start(runId: string, hint?: { grouped: boolean }): Promise<void> {
    if (hint && !hint.grouped) {
      this.ports.start(runId);
      return Promise.resolve();
    }
    return this.serial(runId, async () => {
      const run = await this.ports.describe(runId);
      if (!run) return;
      if (isTerminalRunStatus(run.status)) return this.apply(this.groups.release(runId));
      const grouped = groupedRun(run);
      if (!grouped) return this.ports.start(runId);
      if (run.status !== 'pending') {
        // Already admitted once (a re-told start, or a run that survived a restart).
        this.groups.resume(grouped);
        return this.ports.start(runId);
      }
      this.apply(this.groups.admit(grouped));
    });
  }

  /** A run finished: waiting runs of its group may go. */
  finished(runId: string): Promise<void> {
    return this.serial(runId, async () => this.apply(this.groups.release(runId)));
  }

  /**
   * After a restart, from the store's unfinished runs (oldest first): runs that had started keep
   * their places and resume; pending ones are admitted again in creation order.
   */
  restore(runs: readonly AdmissionRun[]): Promise<void> {
    return this.serial('restore', async () => {
      for (const run of runs.filter((r) => r.status !== 'pending' && !isTerminalRunStatus(r.status))) {
        const grouped = groupedRun(run);
        if (grouped) this.groups.resume(grouped);
        this.ports.start(run.runId);
      }
      for (const run of runs.filter((r) => r.status === 'pending')) {
        const grouped = groupedRun(run);
        if (grouped) this.apply(this.groups.admit(grouped));
        else this.ports.start(run.runId);
      }
    });
  }

  /** Where a group stands (tests and diagnostics). */
  snapshot(run: Pick<AdmissionRun, 'sourceId' | 'workflowName'>, group: string): { active: string[]; waiting: string[] } {
    return this.groups.snapshot(groupKey(run, group));
  }

  private apply(admission: Admission): void {
    for (const id of admission.supersede) this.ports.supersede(id);
    for (const id of admission.start) this.ports.start(id);
  }

  private serial(runId: string, work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work).catch((error: unknown) => this.ports.failed?.(runId, error));
    this.queue = next;
    return next;
  }
}

function groupKey(run: Pick<AdmissionRun, 'sourceId' | 'workflowName'>, group: string): string {
  return JSON.stringify([run.sourceId ?? null, run.workflowName, group]);
}

function groupedRun(run: AdmissionRun): GroupedRun | null {
  const c = run.concurrency;
  if (!c) return null;
  return { runId: run.runId, key: groupKey(run, c.group), max: c.max, cancelInProgress: c.cancelInProgress };
}
