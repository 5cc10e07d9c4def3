/**
 * Admission to one environment concurrency group, pure (the EnvGroupActor's state, as run-core.ts
 * is the RunActor's): which jobs hold a slot, which wait in line, under which limit and strategy.
 *
 * - `queue`: waiters are admitted first come, first served, the moment a slot frees.
 * - `cancel-pending`: a job that arrives replaces the jobs of other runs still waiting; they are
 *   answered `cancelled`, with a reason naming the newer run. Jobs holding a slot are never touched
 *   (KiCI stored the strategy and acted on it nowhere).
 * - The limit is the group's latest word (each request carries the environment's rules as read
 *   then): raised, waiters go at once; lowered, no job is evicted, new ones wait until enough
 *   have left. 0 admits nobody, a pause (as KiCI's gate always queues at 0): waiters stay in line
 *   until the limit is raised or their run gives up on them. Null is no limit.
 * - Every message may come twice: a job that holds a slot asking again is `admitted` without a
 *   second slot, a waiter keeps its place, a cancelled job stays cancelled, and releasing a job
 *   the group does not know does nothing.
 *
 * Each step returns what must be told to other jobs (`SlotNotice`s); the asker's own answer is the
 * step's return value. The state is a cache of the store: `recover` rebuilds it after a move.
 */
import type { ConcurrencyStrategy } from './environment.js';

export interface JobRef {
  runId: string;
  jobId: string;
}

export interface GroupSettings {
  /** Null: no limit. */
  limit: number | null;
  strategy: ConcurrencyStrategy;
  /**
   * When the rules were read (the environments' latest `updated_at`, ms). Settings older than the
   * ones the group has are ignored, so a request delivered late cannot bring back an old limit.
   */
  rulesAt?: number;
}

export type SlotVerdict = 'admitted' | 'queued' | 'cancelled';

export interface SlotAnswer {
  verdict: SlotVerdict;
  /** Why a job was cancelled. */
  reason?: string;
}

/** A decision about a job other than the one asking: it must reach that job's run. */
export interface SlotNotice extends JobRef {
  verdict: 'admitted' | 'cancelled';
  reason?: string;
}

export interface EnvGroupSnapshot {
  settings: GroupSettings | null;
  running: JobRef[];
  waiting: JobRef[];
}

/** Cancelled jobs remembered for idempotency; past this the oldest are forgotten (their runs know). */
export const CANCELLED_MEMORY = 1024;

export class EnvGroup {
  /** Unknown after a recovery without rules: nobody is admitted until a request brings them. */
  private settings: GroupSettings | null = null;
  /** Insertion-ordered maps keyed by `jobKey`: `waiting` is the FIFO line. */
  private readonly running = new Map<string, JobRef>();
  private readonly waiting = new Map<string, JobRef>();
  private readonly cancelled = new Map<string, string>();

  /** `group`: the group's name, for the reasons given to cancelled jobs. */
  constructor(private readonly group: string) {}

  /** A job asks for a slot, carrying the rules of the group as its run read them. */
  request(job: JobRef, settings: GroupSettings): { answer: SlotAnswer; notices: SlotNotice[] } {
    this.adopt(settings);
    const key = jobKey(job);
    const reason = this.cancelled.get(key);
    if (reason !== undefined) return { answer: { verdict: 'cancelled', reason }, notices: this.fill() };
    const notices: SlotNotice[] = [];
    if (!this.running.has(key) && !this.waiting.has(key)) {
      if (this.settings?.strategy === 'cancel-pending') notices.push(...this.replacePending(job));
      this.waiting.set(key, ref(job));
    }
    notices.push(...this.fill());
    const own = (n: SlotNotice) => n.runId === job.runId && n.jobId === job.jobId;
    const answer: SlotAnswer = { verdict: this.running.has(key) ? 'admitted' : 'queued' };
    return { answer, notices: notices.filter((n) => !own(n)) };
  }

  /** A job let its slot go (it ended), or stopped waiting. Unknown jobs: nothing happens. */
  release(job: JobRef): SlotNotice[] {
    const key = jobKey(job);
    this.waiting.delete(key);
    this.cancelled.delete(key);
    return this.running.delete(key) ? this.fill() : [];
  }

  /** New rules for the group (an operator changed the environment). */
  configure(settings: GroupSettings): SlotNotice[] {
    this.adopt(settings);
    return this.fill();
  }

  /**
   * Catch up with the store: the jobs holding slots (all keep them, whatever the limit) and the
   * jobs waiting, oldest first; jobs in neither have ended and leave. A job this group admitted
   * that the store still shows waiting keeps its slot: its run may not have written the admission
   * yet, and giving the slot to someone else would exceed the limit. A job this group cancelled
   * stays out of line. After a move the group starts empty, so the store alone decides.
   */
  recover(running: readonly JobRef[], waiting: readonly JobRef[], settings?: GroupSettings): SlotNotice[] {
    if (settings) this.adopt(settings);
    const admitted = new Set(this.running.keys());
    this.running.clear();
    this.waiting.clear();
    for (const job of running) {
      this.running.set(jobKey(job), ref(job));
      this.cancelled.delete(jobKey(job));
    }
    for (const job of waiting) {
      const key = jobKey(job);
      if (this.running.has(key) || this.cancelled.has(key)) continue;
      (admitted.has(key) ? this.running : this.waiting).set(key, ref(job));
    }
    return this.fill();
  }

  snapshot(): EnvGroupSnapshot {
    return { settings: this.settings && { ...this.settings }, running: [...this.running.values()], waiting: [...this.waiting.values()] };
  }

  /** Nothing held, nothing waiting: the group can be forgotten. */
  get idle(): boolean {
    return this.running.size === 0 && this.waiting.size === 0;
  }

  private adopt(settings: GroupSettings): void {
    const current = this.settings?.rulesAt;
    if (current !== undefined && settings.rulesAt !== undefined && settings.rulesAt < current) return;
    this.settings = { ...settings };
  }

  /** Admit waiters, first in line first, while there is room. */
  private fill(): SlotNotice[] {
    const admitted: SlotNotice[] = [];
    for (const [key, job] of this.waiting) {
      if (!this.hasRoom()) break;
      this.waiting.delete(key);
      this.running.set(key, job);
      admitted.push({ ...job, verdict: 'admitted' });
    }
    return admitted;
  }

  private hasRoom(): boolean {
    if (!this.settings) return false;
    return this.settings.limit === null || this.running.size < this.settings.limit;
  }

  /** cancel-pending: `newer` takes the place of every waiter of another run. */
  private replacePending(newer: JobRef): SlotNotice[] {
    const reason = `cancel-pending: replaced by newer run ${newer.runId} (job ${newer.jobId}) in concurrency group '${this.group}'`;
    const replaced: SlotNotice[] = [];
    for (const [key, job] of this.waiting) {
      // Sibling jobs of one run (a matrix) share a deploy; they must not cancel each other.
      if (job.runId === newer.runId) continue;
      this.waiting.delete(key);
      this.remember(key, reason);
      replaced.push({ ...job, verdict: 'cancelled', reason });
    }
    return replaced;
  }

  private remember(key: string, reason: string): void {
    this.cancelled.set(key, reason);
    if (this.cancelled.size > CANCELLED_MEMORY) this.cancelled.delete(this.cancelled.keys().next().value!);
  }
}

function jobKey(job: JobRef): string {
  return JSON.stringify([job.runId, job.jobId]);
}

/** Only the identity: a message's other fields (limit, strategy) are not the job's. */
function ref(job: JobRef): JobRef {
  return { runId: job.runId, jobId: job.jobId };
}
