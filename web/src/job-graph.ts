/**
 * A run's jobs laid out as a graph: columns by the longest `needs` path (a job sits right of
 * everything it waits for), matrix cells gathered into one group per base name, and edges between
 * those units. Pure (no DOM): job-graph-view.ts draws it; the unit tests run it under Node.
 *
 * The input is whatever the server sent, so a `needs` naming no job is ignored and a cycle is
 * broken where it is found instead of looping.
 */

export interface GraphJob {
  id: string;
  name: string;
  /** The matrix job's name for a matrix cell (`test` for `test (node 20)`); the name otherwise. */
  baseName?: string | null;
  matrix?: Record<string, unknown> | null;
  /** Names of the upstream jobs (a matrix job's base name stands for all its cells). */
  needs?: readonly string[] | null;
}

export interface GraphUnit<J extends GraphJob = GraphJob> {
  /** Stable across updates: `job:<id>` or `matrix:<baseName>`. */
  key: string;
  kind: 'job' | 'matrix';
  /** The group's base name, or the single job's name. */
  name: string;
  jobs: J[];
  column: number;
}

export interface GraphEdge {
  from: string;
  to: string;
}

export interface GraphLayout<J extends GraphJob = GraphJob> {
  /** Units per column, left to right; inside a column in the order the server listed the jobs. */
  columns: GraphUnit<J>[][];
  edges: GraphEdge[];
}

export function layoutJobs<J extends GraphJob>(jobs: readonly J[]): GraphLayout<J> {
  const units = groupIntoUnits(jobs);
  const byName = new Map<string, GraphUnit<J>>();
  for (const unit of units) {
    byName.set(unit.name, unit);
    for (const job of unit.jobs) if (!byName.has(job.name)) byName.set(job.name, unit);
  }

  const upstreams = new Map<string, GraphUnit<J>[]>();
  for (const unit of units) {
    const seen = new Set<string>();
    const ups: GraphUnit<J>[] = [];
    for (const job of unit.jobs) {
      for (const need of Array.isArray(job.needs) ? job.needs : []) {
        const up = byName.get(String(need));
        if (!up || up === unit || seen.has(up.key)) continue;
        seen.add(up.key);
        ups.push(up);
      }
    }
    upstreams.set(unit.key, ups);
  }

  // Longest path from a root, memoised; a unit met again while its own depth is being worked out
  // closes a cycle, and that edge counts for nothing.
  const depth = new Map<string, number>();
  const inProgress = new Set<string>();
  const depthOf = (unit: GraphUnit<J>): number => {
    const known = depth.get(unit.key);
    if (known !== undefined) return known;
    if (inProgress.has(unit.key)) return -1;
    inProgress.add(unit.key);
    let d = 0;
    for (const up of upstreams.get(unit.key) ?? []) d = Math.max(d, depthOf(up) + 1);
    inProgress.delete(unit.key);
    depth.set(unit.key, d);
    return d;
  };

  const columns: GraphUnit<J>[][] = [];
  for (const unit of units) {
    unit.column = depthOf(unit);
    (columns[unit.column] ??= []).push(unit);
  }
  const edges: GraphEdge[] = [];
  for (const unit of units) for (const up of upstreams.get(unit.key) ?? []) edges.push({ from: up.key, to: unit.key });
  return { columns: columns.filter((c) => c !== undefined), edges };
}

/** One unit per plain job, one per matrix (cells sharing a base name), in first-seen order. */
function groupIntoUnits<J extends GraphJob>(jobs: readonly J[]): GraphUnit<J>[] {
  const count = new Map<string, number>();
  for (const job of jobs) {
    const base = baseOf(job);
    count.set(base, (count.get(base) ?? 0) + 1);
  }
  const units: GraphUnit<J>[] = [];
  const groups = new Map<string, GraphUnit<J>>();
  for (const job of jobs) {
    const base = baseOf(job);
    const isCell = (count.get(base) ?? 0) > 1 || base !== job.name || hasMatrix(job);
    if (!isCell) {
      units.push({ key: `job:${job.id}`, kind: 'job', name: job.name, jobs: [job], column: 0 });
      continue;
    }
    let group = groups.get(base);
    if (!group) {
      group = { key: `matrix:${base}`, kind: 'matrix', name: base, jobs: [], column: 0 };
      groups.set(base, group);
      units.push(group);
    }
    group.jobs.push(job);
  }
  return units;
}

const baseOf = (job: GraphJob): string => (typeof job.baseName === 'string' && job.baseName !== '' ? job.baseName : job.name);
const hasMatrix = (job: GraphJob): boolean => job.matrix !== null && typeof job.matrix === 'object' && Object.keys(job.matrix).length > 0;
