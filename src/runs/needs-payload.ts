/**
 * What a released job learns about its direct upstreams: their statuses and fresh outputs, keyed
 * by lock-file job name, with matrix children listed one by one.
 */
import type { NeedsEdge } from './needs-scheduler.js';
import type { JobRecord, LabelMatcher, NeedsEntry, NeedsFile } from './ports.js';
import { FAILING_JOB_STATUSES, type JobStatus } from './statuses.js';

export function needsPayload(jobId: string, jobs: readonly JobRecord[], edges: readonly NeedsEdge[]): NeedsFile {
  const upstreamIds = new Set(edges.filter((e) => e.jobId === jobId).map((e) => e.upstreamJobId));
  const byBase = new Map<string, JobRecord[]>();
  for (const job of jobs) {
    if (!upstreamIds.has(job.id)) continue;
    byBase.set(job.baseName, [...(byBase.get(job.baseName) ?? []), job]);
  }
  const file: NeedsFile = {};
  for (const [base, group] of byBase) file[base] = entryOf(group);
  return file;
}

function entryOf(group: JobRecord[]): NeedsEntry {
  const sorted = [...group].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const outputs: Record<string, string> = {};
  for (const job of sorted) Object.assign(outputs, job.outputs ?? {});
  const isMatrix = sorted.some((j) => j.matrix && Object.keys(j.matrix).length > 0);
  const children: NeedsEntry['children'] = {};
  if (isMatrix) for (const job of sorted) children[job.name] = { status: job.status, outputs: { ...(job.outputs ?? {}) } };
  return { status: groupStatus(sorted.map((j) => j.status)), outputs, children };
}

/** One status for a fan-out: a failure anywhere wins, then a cancellation; all skipped is skipped. */
function groupStatus(statuses: JobStatus[]): JobStatus {
  if (statuses.length === 1) return statuses[0]!;
  if (statuses.some((s) => FAILING_JOB_STATUSES.has(s))) return 'failed';
  if (statuses.some((s) => s === 'cancelled')) return 'cancelled';
  if (statuses.every((s) => s === 'skipped')) return 'skipped';
  return 'success';
}

/** The `runsOn` of a lock-file job, read defensively (the store hands the job config through as JSON). */
export function jobLabels(config: unknown): LabelMatcher[] {
  const runsOn = (config as { runsOn?: unknown } | null | undefined)?.runsOn;
  if (!Array.isArray(runsOn)) return [];
  return runsOn.filter(
    (m): m is LabelMatcher =>
      typeof m === 'string' || (typeof m === 'object' && m !== null && typeof (m as { regex?: unknown }).regex === 'string'),
  );
}
