/**
 * Rules of the lock file that span several fields and so cannot be said by the shape alone:
 * unique names, needs naming real jobs, no needs cycles, matrices that expand to 1..256 children.
 * Reported in document order so the caller can name the first one.
 */
import type { Job, Lockfile, Workflow } from './lockfile-schema.js';
import { matrixProblem, matrixDimensionNames } from './matrix.js';

export type FieldPath = (string | number)[];

export interface RuleViolation {
  path: FieldPath;
  reason: string;
}

export function needName(entry: Job['needs'][number]): string {
  return typeof entry === 'string' ? entry : entry.name;
}

export function lockfileRuleViolations(lockfile: Lockfile): RuleViolation[] {
  const violations: RuleViolation[] = [];
  const seen = new Set<string>();
  lockfile.workflows.forEach((workflow, w) => {
    if (seen.has(workflow.name)) {
      violations.push({ path: ['workflows', w, 'name'], reason: `duplicate workflow name "${workflow.name}"` });
    }
    seen.add(workflow.name);
    violations.push(...workflowViolations(workflow, ['workflows', w]));
  });
  return violations;
}

function workflowViolations(workflow: Workflow, at: FieldPath): RuleViolation[] {
  const violations: RuleViolation[] = [];
  const names = new Set(workflow.jobs.map((job) => job.name));
  const seen = new Set<string>();
  workflow.jobs.forEach((job, j) => {
    const jobAt = [...at, 'jobs', j];
    if (seen.has(job.name)) {
      violations.push({ path: [...jobAt, 'name'], reason: `duplicate job name "${job.name}"` });
    }
    seen.add(job.name);
    violations.push(...needsViolations(job, names, jobAt));
    if (job.matrix) violations.push(...matrixViolations(job, [...jobAt, 'matrix']));
  });
  if (violations.length === 0) {
    const cycle = findNeedsCycle(workflow.jobs);
    if (cycle) {
      violations.push({
        path: [...at, 'jobs', cycle.startIndex, 'needs'],
        reason: `needs cycle: ${cycle.names.join(' → ')}`,
      });
    }
  }
  return violations;
}

function needsViolations(job: Job, names: Set<string>, jobAt: FieldPath): RuleViolation[] {
  const violations: RuleViolation[] = [];
  const seen = new Set<string>();
  job.needs.forEach((entry, n) => {
    const name = needName(entry);
    const path = typeof entry === 'string' ? [...jobAt, 'needs', n] : [...jobAt, 'needs', n, 'name'];
    if (name === job.name) violations.push({ path, reason: 'a job cannot need itself' });
    else if (!names.has(name)) violations.push({ path, reason: `unknown job "${name}"` });
    else if (seen.has(name)) violations.push({ path, reason: `job "${name}" is needed twice` });
    seen.add(name);
  });
  return violations;
}

function matrixViolations(job: Job, matrixAt: FieldPath): RuleViolation[] {
  const matrix = job.matrix!;
  const dimensions = new Set(matrixDimensionNames(matrix));
  const violations: RuleViolation[] = [];
  (matrix.exclude ?? []).forEach((entry, e) => {
    for (const key of Object.keys(entry)) {
      if (!dimensions.has(key)) violations.push({ path: [...matrixAt, 'exclude', e, key], reason: 'unknown dimension' });
    }
  });
  if (violations.length > 0) return violations;
  const problem = matrixProblem(matrix);
  return problem ? [{ path: matrixAt, reason: problem }] : [];
}

interface NeedsCycle {
  startIndex: number;
  names: string[];
}

/** Depth-first search in job order; the first back edge found closes the reported cycle. */
export function findNeedsCycle(jobs: Job[]): NeedsCycle | null {
  const index = new Map(jobs.map((job, i) => [job.name, i]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];

  const visit = (name: string): string[] | null => {
    const mark = state.get(name);
    if (mark === 'done') return null;
    if (mark === 'open') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'open');
    stack.push(name);
    const job = jobs[index.get(name)!];
    for (const entry of job.needs) {
      if (!index.has(needName(entry))) continue;
      const cycle = visit(needName(entry));
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(name, 'done');
    return null;
  };

  for (const job of jobs) {
    const cycle = visit(job.name);
    if (cycle) return { startIndex: index.get(cycle[0])!, names: cycle };
  }
  return null;
}
