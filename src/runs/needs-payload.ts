/**
 * What a released job learns about its direct upstreams: their statuses and fresh outputs, keyed
 * by lock-file job name, with matrix children listed one by one (the `KICI_NEEDS_FILE` document,
 * whose shape the workflows room owns).
 */
import { needsFile, type NeedsFile } from '../workflows/index.js';
import type { NeedsEdge } from './needs-scheduler.js';
import type { JobRecord, LabelMatcher } from './ports.js';

export function needsPayload(jobId: string, jobs: readonly JobRecord[], edges: readonly NeedsEdge[]): NeedsFile {
  const upstreamIds = new Set(edges.filter((e) => e.jobId === jobId).map((e) => e.upstreamJobId));
  const upstreams = jobs
    .filter((job) => upstreamIds.has(job.id))
    .map((job) => ({
      name: job.name,
      baseName: job.baseName,
      // An empty matrix object is no matrix: the job was not fanned out.
      matrix: job.matrix && Object.keys(job.matrix).length > 0 ? job.matrix : null,
      status: job.status,
      outputs: job.outputs ?? {},
    }));
  return needsFile(upstreams);
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
