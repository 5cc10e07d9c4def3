/**
 * The ConcurrencyGroupActor: admission for one workflow `concurrency` group. Its key is the group
 * (source, workflow, group string), so it lives on the owner of that key's shard and every node
 * asks the same one: `max` holds across the cluster, whichever nodes own the group's runs.
 *
 * Its places are a cache of the store, like a RunActor's state. On activation, and again every
 * RECHECK_MS while runs wait, it rebuilds them from the group's unfinished runs: runs that have
 * started hold places, pending ones are admitted again oldest first, runs the store shows finished
 * give their places up. That rebuild is also what heals a `finished` or a `start` lost with a node.
 * It writes nothing itself: its decisions are tells to RunActors (start, cancel as superseded),
 * and every message it takes is safe to take twice.
 */
import type { Actor, ActorContext, ActorRef, ActorSystem, KindOptions } from '../actors/index.js';
import {
  ConcurrencyGroups,
  groupedRun,
  groupKey,
  groupOfKey,
  type Admission,
  type AdmissionRun,
  type GroupIdentity,
} from './concurrency-groups.js';
import { isTerminalRunStatus } from './statuses.js';

export const CONCURRENCY_GROUP_KIND = 'concurrency-group';

/** While runs wait, the store is read again this often, in case a run finished unheard. */
export const RECHECK_MS = 30_000;

export type GroupMessage =
  /** A run of the group asks to start; the actor reads it and decides. Idempotent. */
  | { type: 'admit'; runId: string }
  /** A run of the group reached a terminal state: its place goes to the next waiting runs. */
  | { type: 'finished'; runId: string }
  /** Read the group's runs from the store again and catch up with what it says. */
  | { type: 'recheck' }
  /** Where the group stands (tests and diagnostics). */
  | { type: 'snapshot' };

/** What became of an admitted run. */
export type AdmitOutcome = 'started' | 'waiting' | 'superseded' | 'cancelling' | 'finished' | 'not_in_group';

export interface GroupSnapshot {
  active: string[];
  waiting: string[];
}

export interface ConcurrencyGroupPorts {
  /** The group's unfinished runs, oldest first (created, then id). */
  groupRuns(group: GroupIdentity): Promise<AdmissionRun[]>;
  /** The run as stored now; null when there is no such run. */
  describe(runId: string): Promise<AdmissionRun | null>;
  /** Tell the run's actor to start (or resume) it, wherever it lives. */
  start(runId: string): void;
  /** Tell the run's actor to cancel with reason `superseded`, wherever it lives. */
  supersede(runId: string): void;
}

export class ConcurrencyGroupActor implements Actor<GroupMessage> {
  private readonly groups = new ConcurrencyGroups();
  private readonly group: GroupIdentity;
  private cancelRecheck: (() => void) | undefined;
  /**
   * Runs told something while handling the message in hand (and the rebuild of an activation
   * before it): a first admit that activates the actor admits the run in the rebuild already, and
   * its own handling must not tell it a second time.
   */
  private readonly told = new Set<string>();

  constructor(
    private readonly ctx: ActorContext<GroupMessage>,
    private readonly ports: ConcurrencyGroupPorts,
  ) {
    this.group = groupOfKey(ctx.key);
  }

  async onActivate(): Promise<void> {
    await this.rebuild();
  }

  async receive(msg: GroupMessage): Promise<AdmitOutcome | GroupSnapshot | undefined> {
    try {
      switch (msg.type) {
        case 'admit':
          return await this.admit(msg.runId);
        case 'finished':
          this.apply(this.groups.release(msg.runId));
          return undefined;
        case 'recheck':
          this.cancelRecheck = undefined;
          await this.rebuild();
          return undefined;
        case 'snapshot':
          return this.groups.snapshot(this.ctx.key);
      }
    } finally {
      this.told.clear();
      this.armRecheck();
    }
  }

  private async admit(runId: string): Promise<AdmitOutcome> {
    const run = await this.ports.describe(runId);
    const grouped = run && groupedRun(run);
    if (!run || !grouped || grouped.key !== this.ctx.key) return 'not_in_group';
    if (isTerminalRunStatus(run.status)) {
      this.apply(this.groups.release(runId));
      return 'finished';
    }
    if (run.status !== 'pending') {
      // It started under an earlier decision (this actor's before a move, say): it holds a place.
      const stopping = run.status === 'cancelling';
      this.groups.resume(grouped, stopping);
      if (stopping) return 'cancelling';
      if (this.tell(`start:${runId}`)) this.ports.start(runId);
      return 'started';
    }
    const admission = this.groups.admit(grouped);
    this.apply(admission);
    if (admission.start.includes(runId)) return 'started';
    return admission.supersede.includes(runId) ? 'superseded' : 'waiting';
  }

  /**
   * Catch up with the store. Order matters: started runs take their places first, so that a place
   * freed by a run that finished unheard goes to a waiting run only if it is really free.
   */
  private async rebuild(): Promise<void> {
    const runs = await this.ports.groupRuns(this.group);
    const grouped = runs
      .map((run) => ({ run, grouped: groupedRun(run) }))
      .filter((r): r is { run: AdmissionRun; grouped: NonNullable<typeof r.grouped> } => r.grouped?.key === this.ctx.key);
    for (const { run, grouped: g } of grouped) if (run.status !== 'pending') this.groups.resume(g, run.status === 'cancelling');
    const unfinished = new Set(grouped.map((r) => r.run.runId));
    for (const runId of this.groups.known(this.ctx.key)) if (!unfinished.has(runId)) this.apply(this.groups.release(runId));
    for (const { run, grouped: g } of grouped) if (run.status === 'pending') this.apply(this.groups.admit(g));
  }

  private apply(admission: Admission): void {
    for (const id of admission.supersede) if (this.tell(`stop:${id}`)) this.ports.supersede(id);
    for (const id of admission.start) if (this.tell(`start:${id}`)) this.ports.start(id);
  }

  private tell(what: string): boolean {
    if (this.told.has(what)) return false;
    this.told.add(what);
    return true;
  }

  /** Runs waiting keep a recheck armed (and the actor active); with none, it may passivate. */
  private armRecheck(): void {
    const waiting = this.groups.snapshot(this.ctx.key).waiting.length > 0;
    if (waiting && !this.cancelRecheck) this.cancelRecheck = this.ctx.schedule(RECHECK_MS, { type: 'recheck' });
    if (!waiting && this.cancelRecheck) {
      this.cancelRecheck();
      this.cancelRecheck = undefined;
    }
  }
}

/** Register the `concurrency-group` kind: sharded by its key, like runs. */
export function registerConcurrencyGroupActor(system: ActorSystem, ports: ConcurrencyGroupPorts, options: KindOptions<GroupMessage> = {}): void {
  // An actor whose store read failed reads it again once its backoff has passed, unprompted.
  system.register<GroupMessage>(CONCURRENCY_GROUP_KIND, (ctx) => new ConcurrencyGroupActor(ctx, ports), { wakeAfterFailure: { type: 'recheck' }, ...options });
}

/** The ref of one group's actor, wherever it lives. */
export function concurrencyGroupRef(system: ActorSystem, group: GroupIdentity): ActorRef<GroupMessage> {
  return system.ref<GroupMessage>(CONCURRENCY_GROUP_KIND, groupKey(group));
}
