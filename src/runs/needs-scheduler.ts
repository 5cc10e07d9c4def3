/**
 * Needs gating, pure. Given a run's jobs and its needs edges, decide which waiting jobs may go,
 * which are skipped (their upstream ended outside the edge's `runOn`; skips cascade), and which are
 * cancelled (dependents of a run being cancelled). Event-driven on each terminal job, and the same
 * rules recomputed from scratch when a run is resumed from the store.
 */
import { isTerminalJobStatus, type JobStatus } from './statuses.js';

export interface SchedulerJob {
  id: string;
  name: string;
  status: JobStatus;
  /** Set once the job has been released; a released job that is still pending awaits dispatch. */
  needsSatisfied: boolean;
}

/** `jobId` waits for `upstreamJobId` and may run only if that job ends in one of `runOn`. */
export interface NeedsEdge {
  jobId: string;
  upstreamJobId: string;
  runOn: readonly JobStatus[];
}

export interface NeedsDecision {
  release: string[];
  skip: string[];
  cancel: string[];
}

export interface SchedulerOptions {
  /** The run is being cancelled: waiting dependents end `cancelled`, never `skipped` or released. */
  runCancelling?: boolean;
}

/** Jobs with no upstream at all, in job order. */
export function rootJobs(jobs: readonly SchedulerJob[], edges: readonly NeedsEdge[]): string[] {
  const hasUpstream = new Set(edges.map((e) => e.jobId));
  return jobs.filter((j) => !hasUpstream.has(j.id)).map((j) => j.id);
}

/** What follows from `jobId` having reached the terminal status it has in `jobs`. */
export function onJobTerminal(
  jobs: readonly SchedulerJob[],
  edges: readonly NeedsEdge[],
  jobId: string,
  options: SchedulerOptions = {},
): NeedsDecision {
  const graph = new NeedsGraph(jobs, edges, options);
  if (!graph.isTerminal(jobId)) return graph.decision();
  graph.cascadeFrom([jobId]);
  return graph.decision();
}

/** Everything that should happen now, computed from the stored statuses alone (restart, reactivation). */
export function recomputeNeeds(
  jobs: readonly SchedulerJob[],
  edges: readonly NeedsEdge[],
  options: SchedulerOptions = {},
): NeedsDecision {
  const graph = new NeedsGraph(jobs, edges, options);
  if (options.runCancelling) {
    for (const job of jobs) if (job.status === 'pending' || job.status === 'queued') graph.cancelJob(job.id);
    return graph.decision();
  }
  for (const job of jobs) if (job.status === 'pending' && job.needsSatisfied) graph.releaseJob(job.id);
  const decided = (): number => graph.decidedCount();
  let before = -1;
  // Skips change statuses, which can decide further jobs: iterate to a fixpoint.
  while (before !== decided()) {
    before = decided();
    for (const job of jobs) graph.evaluate(job.id);
  }
  return graph.decision();
}

/** Working copy of the run's statuses while one decision is being made. */
class NeedsGraph {
  private readonly status = new Map<string, JobStatus>();
  private readonly order: string[];
  private readonly upstreams = new Map<string, NeedsEdge[]>();
  private readonly downstreams = new Map<string, string[]>();
  /** Jobs decided during this pass. */
  private readonly decided = new Set<string>();
  /** Jobs released before this pass: not ours to release or skip again. */
  private readonly satisfied = new Set<string>();
  private readonly result: NeedsDecision = { release: [], skip: [], cancel: [] };

  constructor(
    jobs: readonly SchedulerJob[],
    edges: readonly NeedsEdge[],
    private readonly options: SchedulerOptions,
  ) {
    this.order = jobs.map((j) => j.id);
    for (const job of jobs) {
      this.status.set(job.id, job.status);
      if (job.needsSatisfied) this.satisfied.add(job.id);
    }
    for (const edge of edges) {
      push(this.upstreams, edge.jobId, edge);
      const down = this.downstreams.get(edge.upstreamJobId) ?? [];
      if (!down.includes(edge.jobId)) down.push(edge.jobId);
      this.downstreams.set(edge.upstreamJobId, down);
    }
  }

  isTerminal(jobId: string): boolean {
    const status = this.status.get(jobId);
    return status !== undefined && isTerminalJobStatus(status);
  }

  decidedCount(): number {
    return this.decided.size;
  }

  decision(): NeedsDecision {
    const byOrder = (ids: string[]) => ids.sort((a, b) => this.order.indexOf(a) - this.order.indexOf(b));
    return { release: byOrder(this.result.release), skip: byOrder(this.result.skip), cancel: byOrder(this.result.cancel) };
  }

  cascadeFrom(start: string[]): void {
    const queue = [...start];
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      for (const down of this.downstreams.get(id) ?? []) {
        if (this.evaluate(down) && this.isTerminal(down)) queue.push(down);
      }
    }
  }

  /** Decide one waiting job if its upstreams allow; true when a decision was made. */
  evaluate(jobId: string): boolean {
    const status = this.status.get(jobId);
    if (this.decided.has(jobId)) return false;
    if (this.options.runCancelling) {
      if (status !== 'pending' && status !== 'queued') return false;
      this.cancelJob(jobId);
      return true;
    }
    if (status !== 'pending' || this.satisfied.has(jobId)) return false;
    const ups = this.upstreams.get(jobId) ?? [];
    const outside = ups.some((e) => this.isTerminal(e.upstreamJobId) && !e.runOn.includes(this.status.get(e.upstreamJobId)!));
    if (outside) {
      this.decided.add(jobId);
      this.status.set(jobId, 'skipped');
      this.result.skip.push(jobId);
      return true;
    }
    if (ups.every((e) => this.isTerminal(e.upstreamJobId))) {
      this.releaseJob(jobId);
      return true;
    }
    return false;
  }

  releaseJob(jobId: string): void {
    this.decided.add(jobId);
    this.result.release.push(jobId);
  }

  cancelJob(jobId: string): void {
    this.decided.add(jobId);
    this.status.set(jobId, 'cancelled');
    this.result.cancel.push(jobId);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
