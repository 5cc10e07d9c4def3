/**
 * The concrete jobs and needs edges of one run of a workflow: matrix jobs become their children,
 * and every downstream child gets an edge to every child of each job it needs (execution.md §5).
 */
import type { Job, Step, Workflow } from './lockfile-schema.js';
import type { TerminalJobStatus } from '../vocabulary/index.js';
import { needName } from './lockfile-rules.js';
import { expandMatrix, matrixChildName } from './matrix.js';

export interface PlannedJob {
  /** Unique in the run: the job name, or `test (20, 1)` for a matrix child. */
  name: string;
  /** The lock file's job name. */
  baseName: string;
  /** This child's matrix values, or null for a job without a matrix. */
  matrix: Record<string, string> | null;
  config: Job;
  stepNames: string[];
}

export interface PlannedEdge {
  /** Downstream planned job name. */
  job: string;
  /** Upstream planned job name. */
  upstream: string;
  upstreamBaseName: string;
  /** Upstream statuses that let `job` go on; any other terminal status skips it. */
  runOn: TerminalJobStatus[];
}

export interface RunPlan {
  jobs: PlannedJob[];
  edges: PlannedEdge[];
}

const SUCCESS_ONLY: TerminalJobStatus[] = ['success'];

/** A step's name, or `step-N` (N from 1) when the lock file gives none. */
export function stepName(step: Step, index: number): string {
  return step.name ?? `step-${index + 1}`;
}

export function planRun(workflow: Workflow): RunPlan {
  const jobs = workflow.jobs.flatMap(plannedChildren);
  const byBase = new Map<string, PlannedJob[]>();
  for (const job of jobs) byBase.set(job.baseName, [...(byBase.get(job.baseName) ?? []), job]);

  const edges: PlannedEdge[] = [];
  for (const job of jobs) {
    for (const entry of job.config.needs) {
      const runOn = typeof entry === 'string' ? SUCCESS_ONLY : entry.runOn;
      for (const upstream of byBase.get(needName(entry)) ?? []) {
        edges.push({ job: job.name, upstream: upstream.name, upstreamBaseName: upstream.baseName, runOn: [...runOn] });
      }
    }
  }
  return { jobs, edges };
}

/** Jobs with no edges: released as soon as the run starts. */
export function rootJobs(plan: RunPlan): PlannedJob[] {
  const downstream = new Set(plan.edges.map((edge) => edge.job));
  return plan.jobs.filter((job) => !downstream.has(job.name));
}

function plannedChildren(config: Job): PlannedJob[] {
  const stepNames = config.steps.map(stepName);
  if (!config.matrix) return [{ name: config.name, baseName: config.name, matrix: null, config, stepNames }];
  return expandMatrix(config.matrix).map((child) => ({
    name: matrixChildName(config.name, child),
    baseName: config.name,
    matrix: child.values,
    config,
    stepNames,
  }));
}
