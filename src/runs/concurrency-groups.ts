/**
 * Workflow `concurrency` admission, pure. Runs of one workflow that share a group compete for the
 * group's `max` places. A run with `cancelInProgress` always starts and supersedes older runs so
 * that no more than `max` stay (older waiting runs are superseded outright); a run without it
 * waits, first come first served, until fewer than `max` runs of its group are active. A run stays
 * active until it finishes, even while it is being cancelled: its jobs still hold agents.
 */
import type { RunStatus } from './statuses.js';

/** Why a run ends cancelled when a newer run of its group replaced it. */
export const SUPERSEDED_REASON = 'superseded';

/** A run as admission sees it: its status and the workflow `concurrency` it was created with. */
export interface AdmissionRun {
  runId: string;
  status: RunStatus;
  sourceId?: string | null;
  workflowName: string;
  concurrency?: { group: string; cancelInProgress: boolean; max: number } | null;
}

/** Which runs compete with each other: one workflow of one source, one group string. */
export interface GroupIdentity {
  sourceId: string | null;
  workflowName: string;
  group: string;
}

/** The group of a run, or null when its workflow has no `concurrency`. */
export function groupOf(run: Pick<AdmissionRun, 'sourceId' | 'workflowName' | 'concurrency'>): GroupIdentity | null {
  if (!run.concurrency) return null;
  return { sourceId: run.sourceId ?? null, workflowName: run.workflowName, group: run.concurrency.group };
}

/**
 * A group's key: stable across nodes and releases (it is hashed to the shard of the group's actor),
 * and reversible, so the actor knows which runs to read from its key alone.
 */
export function groupKey(group: GroupIdentity): string {
  return JSON.stringify([group.sourceId, group.workflowName, group.group]);
}

/** The identity behind a key made by `groupKey`; throws on anything else. */
export function groupOfKey(key: string): GroupIdentity {
  const parsed: unknown = JSON.parse(key);
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    !(parsed[0] === null || typeof parsed[0] === 'string') ||
    typeof parsed[1] !== 'string' ||
    typeof parsed[2] !== 'string'
  ) {
    throw new Error(`not a concurrency group key: ${key}`);
  }
  return { sourceId: parsed[0], workflowName: parsed[1], group: parsed[2] };
}

export interface GroupedRun {
  runId: string;
  /** Runs compete only with runs of the same key (source, workflow and group string). */
  key: string;
  max: number;
  cancelInProgress: boolean;
}

/** The run as the decisions take it, or null when it belongs to no group. */
export function groupedRun(run: AdmissionRun): GroupedRun | null {
  const group = groupOf(run);
  if (!group || !run.concurrency) return null;
  return { runId: run.runId, key: groupKey(group), max: run.concurrency.max, cancelInProgress: run.concurrency.cancelInProgress };
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
  /**
   * Runs already told to stop, until they finish: active ones still hold their place, waiting ones
   * hold none. Remembered so that a repeated admit (a message told twice, a run restored after a
   * move) repeats the stop instead of letting an old run back in.
   */
  superseded: Set<string>;
}

const nothing = (): Admission => ({ start: [], supersede: [] });

export class ConcurrencyGroups {
  private readonly groups = new Map<string, Group>();
  private readonly keyOf = new Map<string, string>();

  /**
   * A run asks to start. Asking again is harmless: an active run is told to start again (its first
   * start may have been lost with a node), a superseded one to stop again, a waiting one keeps its place.
   */
  admit(run: GroupedRun): Admission {
    const known = this.keyOf.get(run.runId);
    if (known !== undefined) {
      const group = this.groups.get(known)!;
      if (group.superseded.has(run.runId)) return { start: [], supersede: [run.runId] };
      return group.active.includes(run.runId) ? { start: [run.runId], supersede: [] } : nothing();
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

  /**
   * A run that had already started (found in the store) takes its place without a decision.
   * `stopping`: it is being cancelled already, so it is not superseded again.
   */
  resume(run: GroupedRun, stopping = false): void {
    if (this.keyOf.has(run.runId)) return;
    this.keyOf.set(run.runId, run.key);
    const group = this.group(run.key);
    group.active.push(run.runId);
    if (stopping) group.superseded.add(run.runId);
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
    if (group.active.length === 0 && group.waiting.length === 0 && group.superseded.size === 0) this.groups.delete(key);
    return { start, supersede: [] };
  }

  /** Where a group stands (for tests and diagnostics). */
  snapshot(key: string): { active: string[]; waiting: string[] } {
    const group = this.groups.get(key);
    return { active: [...(group?.active ?? [])], waiting: (group?.waiting ?? []).map((w) => w.runId) };
  }

  /** Every run the group holds: active, waiting, and superseded ones not yet finished. */
  known(key: string): string[] {
    const group = this.groups.get(key);
    if (!group) return [];
    return [...new Set([...group.active, ...group.waiting.map((w) => w.runId), ...group.superseded])];
  }

  private supersedeFor(group: Group, run: GroupedRun): Admission {
    const supersede = group.waiting.map((w) => w.runId);
    for (const id of supersede) group.superseded.add(id);
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
