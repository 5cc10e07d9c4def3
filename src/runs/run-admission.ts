/**
 * The gate every run passes before its actor is told to start: a thin front on this node for the
 * ConcurrencyGroupActors, which hold the places of each workflow `concurrency` group wherever the
 * group's shard lives. Runs without a `concurrency` go straight to their actors; the others are
 * sent to their group's actor, which decides. What it sends leaves this node in the order it was
 * asked for (a run's group is read from the store first), so "first come" in a group means the
 * order runs reached the gate of the node that created them.
 */
import type { ActorSystem } from '../actors/index.js';
import { concurrencyGroupRef, type AdmitOutcome, type GroupSnapshot } from './concurrency-group-actor.js';
import { groupKey, groupOf, type AdmissionRun, type GroupIdentity } from './concurrency-groups.js';
import { isTerminalRunStatus } from './statuses.js';

/** How long the gate waits for a group's decision before it reports the admission failed. */
export const ADMISSION_ASK_MS = 30_000;

export interface RunAdmissionPorts {
  /** The run as stored now; null when there is no such run. */
  describe(runId: string): Promise<AdmissionRun | null>;
  /** Tell the run's actor to start (or resume) it. */
  start(runId: string): void;
  /**
   * Every group with unfinished runs. After a shard gain, those whose actor now lives here are woken,
   * so a group whose runs wait is not left waiting for a message that went down with the old owner.
   */
  unfinishedGroups?(): Promise<GroupIdentity[]>;
  /** A decision failed (the store could not be read, the group did not answer); the run is left as it is. */
  failed?(runId: string, error: unknown): void;
}

export class RunAdmission {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly system: ActorSystem,
    private readonly ports: RunAdmissionPorts,
  ) {}

  /**
   * Start a run now, or park it behind the runs of its group. `grouped: false` (the caller knows
   * the workflow has no concurrency) starts it at once, without reading it. Resolves once the group
   * has decided (undefined for a run outside any group, or on failure, which `failed` is told of).
   */
  start(runId: string, hint?: { grouped: boolean }): Promise<AdmitOutcome | undefined> {
    if (hint && !hint.grouped) {
      this.ports.start(runId);
      return Promise.resolve(undefined);
    }
    return this.toGroup(
      runId,
      (run) => {
        if (!isTerminalRunStatus(run.status)) this.ports.start(runId);
      },
      (group) => concurrencyGroupRef(this.system, group).ask<AdmitOutcome>({ type: 'admit', runId }, ADMISSION_ASK_MS),
    );
  }

  /**
   * A run finished: waiting runs of its group may go. Given the run itself (its actor has it at
   * hand), nothing is read: a run outside any group costs nothing here.
   */
  async finished(run: AdmissionRun | string): Promise<void> {
    if (typeof run !== 'string') {
      const group = groupOf(run);
      if (!group) return;
      await concurrencyGroupRef(this.system, group)
        .ask({ type: 'finished', runId: run.runId }, ADMISSION_ASK_MS)
        .catch((error: unknown) => this.ports.failed?.(run.runId, error));
      return;
    }
    const runId = run;
    await this.toGroup(
      runId,
      () => undefined,
      (group) => concurrencyGroupRef(this.system, group).ask({ type: 'finished', runId }, ADMISSION_ASK_MS),
    );
  }

  /**
   * This node took over the unfinished runs of some shards (at start, or from another node): runs
   * that had started resume at once, pending ones go back to their groups (which know them already
   * or rebuild from the store), and groups that now live here catch up with the store.
   */
  async restore(runs: readonly AdmissionRun[]): Promise<void> {
    const told = new Set<string>();
    for (const run of runs) {
      if (isTerminalRunStatus(run.status)) continue;
      const group = groupOf(run);
      if (run.status !== 'pending' || !group) {
        this.ports.start(run.runId);
        continue;
      }
      concurrencyGroupRef(this.system, group).tell({ type: 'admit', runId: run.runId });
      told.add(groupKey(group));
    }
    await this.wakeLocalGroups(told);
  }

  /** Where a group stands (tests and diagnostics). */
  snapshot(run: Pick<AdmissionRun, 'sourceId' | 'workflowName'>, group: string): Promise<GroupSnapshot> {
    const identity = { sourceId: run.sourceId ?? null, workflowName: run.workflowName, group };
    return concurrencyGroupRef(this.system, identity).ask<GroupSnapshot>({ type: 'snapshot' }, ADMISSION_ASK_MS);
  }

  private async wakeLocalGroups(skip: ReadonlySet<string>): Promise<void> {
    if (!this.ports.unfinishedGroups) return;
    let groups: GroupIdentity[];
    try {
      groups = await this.ports.unfinishedGroups();
    } catch (error) {
      // Best effort: the runs themselves are woken, and a group's next message rebuilds it anyway.
      this.ports.failed?.('restore', error);
      return;
    }
    for (const group of groups) {
      const key = groupKey(group);
      if (skip.has(key) || this.system.locate(key)?.node !== this.system.nodeId) continue;
      concurrencyGroupRef(this.system, group).tell({ type: 'recheck' });
    }
  }

  /**
   * Read the run, then hand it to its group (or to `ungrouped`). The reads are serial so that what
   * goes to the groups leaves in the order it was asked for; the answers are awaited outside the
   * queue, so one slow group holds up nobody else.
   */
  private async toGroup<R>(
    runId: string,
    ungrouped: (run: AdmissionRun) => void,
    grouped: (group: GroupIdentity) => Promise<R>,
  ): Promise<R | undefined> {
    let sent: Promise<R | undefined> = Promise.resolve(undefined);
    const read = this.queue.then(async () => {
      const run = await this.ports.describe(runId);
      if (!run) return;
      const group = groupOf(run);
      if (!group) return ungrouped(run);
      sent = grouped(group);
      // Awaited below, once the read settles; marked handled so an early refusal is not "unhandled".
      sent.catch(() => undefined);
    });
    this.queue = read.catch(() => undefined);
    try {
      await read;
      return await sent;
    } catch (error) {
      this.ports.failed?.(runId, error);
      return undefined;
    }
  }
}
