/**
 * Workflow `concurrency` admission, pure. Runs of one workflow that share a group compete for the
 * group's `max` places. A run with `cancelInProgress` always starts and supersedes older runs so
 * that no more than `max` stay (older waiting runs are superseded outright); a run without it
 * waits, first come first served, until fewer than `max` runs of its group are active. A run stays
 * active until it finishes, even while it is being cancelled: its jobs still hold agents.
 */

/** Why a run ends cancelled when a newer run of its group replaced it. */
export const SUPERSEDED_REASON = 'superseded';

export interface GroupedRun {
  runId: string;
  /** Runs compete only with runs of the same key (source, workflow and group string). */
  key: string;
  max: number;
  cancelInProgress: boolean;
}

/** What the caller must do now. */
export interface Admission {
  /** Runs that may start. */
  start: string[];
  /** Older runs to cancel with reason `superseded`. */
  supersede: string[];
}

interface Group {
  /** Oldest first. */
  active: string[];
  /** FIFO. */
  waiting: GroupedRun[];
  /** Active runs already told to stop; not superseded twice, still counted until they finish. */
  superseded: Set<string>;
}

const nothing = (): Admission => ({ start: [], supersede: [] });

export class ConcurrencyGroups {
  private readonly groups = new Map<string, Group>();
  private readonly keyOf = new Map<string, string>();

  /** A run asks to start. Asking again is harmless: an active run is told to start again, a waiting one keeps its place. */
  admit(run: GroupedRun): Admission {
    const known = this.keyOf.get(run.runId);
    if (known !== undefined) {
      return this.groups.get(known)?.active.includes(run.runId) ? { start: [run.runId], supersede: [] } : nothing();
    }
    const group = this.group(run.key);
    this.keyOf.set(run.runId, run.key);
    if (run.cancelInProgress) return this.supersedeFor(group, run);
    if (group.waiting.length === 0 && group.active.length < run.max) {
      group.active.push(run.runId);
      return { start: [run.runId], supersede: [] };
    }
    group.waiting.push(run);
    return nothing();
  }

  /** A run that was already running (found in the store after a restart) takes its place without a decision. */
  resume(run: GroupedRun): void {
    if (this.keyOf.has(run.runId)) return;
    this.keyOf.set(run.runId, run.key);
    this.group(run.key).active.push(run.runId);
  }

  /** A run finished (or was cancelled while waiting): its place goes to the next waiting runs. */
  release(runId: string): Admission {
    const key = this.keyOf.get(runId);
    if (key === undefined) return nothing();
    this.keyOf.delete(runId);
    const group = this.groups.get(key)!;
    group.active = group.active.filter((id) => id !== runId);
    group.waiting = group.waiting.filter((w) => w.runId !== runId);
    group.superseded.delete(runId);
    const start: string[] = [];
    while (group.waiting.length > 0 && group.active.length < group.waiting[0].max) {
      const next = group.waiting.shift()!;
      group.active.push(next.runId);
      start.push(next.runId);
    }
    if (group.active.length === 0 && group.waiting.length === 0) this.groups.delete(key);
    return { start, supersede: [] };
  }

  /** Where a group stands (for tests and diagnostics). */
  snapshot(key: string): { active: string[]; waiting: string[] } {
    const group = this.groups.get(key);
    return { active: [...(group?.active ?? [])], waiting: (group?.waiting ?? []).map((w) => w.runId) };
  }

  private supersedeFor(group: Group, run: GroupedRun): Admission {
    const supersede = group.waiting.map((w) => w.runId);
    for (const id of supersede) this.keyOf.delete(id);
    group.waiting = [];
    const live = group.active.filter((id) => !group.superseded.has(id));
    const excess = live.slice(0, Math.max(0, live.length - (run.max - 1)));
    for (const id of excess) group.superseded.add(id);
    group.active.push(run.runId);
    return { start: [run.runId], supersede: [...excess, ...supersede] };
  }

  private group(key: string): Group {
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = { active: [], waiting: [], superseded: new Set() }));
    return group;
  }
}
