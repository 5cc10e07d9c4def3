/**
 * Invariant 4: an environment's concurrency limit is never exceeded, cluster-wide. Judged from the
 * journal: the workload says which of its jobs deploy to which limited group (`GatedJobs`), and
 * every execution of such a job occupies its group from its first step's start to its last step's
 * end. At no moment may more executions of a group's jobs be under way than its limit.
 *
 * An execution without an end line was killed: it occupied its group until its agent died when the
 * workload killed that agent (`agentDeaths`), else it counts as the instant of its start, so only
 * overlaps the journal proves are reported. Two copies of one job (a copy lost with its agent, then
 * the job again elsewhere) are one job's: they count once, as invariant 3 judges copies.
 */
import type { Journal } from '../journal-reader.js';
import { groupBy } from '../grouping.js';
import { brokenAt, invariantReport, notExercised, type InvariantReport } from '../report.js';
import { clockTime, killedAt, pairExecutions, type AgentDeaths, type StepExecution } from '../step-executions.js';

/** Job name (as the journal records it) → the concurrency group it takes a slot in, and its limit. */
export type GatedJobs = Readonly<Record<string, { group: string; limit: number }>>;

/** One job's hold on its group, from the journal. */
interface Occupancy {
  job: string;
  group: string;
  limit: number;
  from: number;
  to: number;
  agents: string[];
}

export function checkEnvironmentLimits(journal: Journal, gated: GatedJobs, agentDeaths: AgentDeaths = {}): InvariantReport {
  const names = Object.keys(gated);
  if (names.length === 0) return notExercised(4, 'the workload has no job in a limited environment: no concurrency limit existed to break');
  const executions = pairExecutions(journal.entries).executions.filter((e) => e.jobName in gated);
  if (executions.length === 0) return notExercised(4, `no job of a limited environment (${names.join(', ')}) ran: the limit was never tested`);

  const occupancies = [...groupBy(executions, (e) => `${e.runId}/${e.jobId}`).values()].map((same) => occupancyOf(same, gated, agentDeaths));
  const evidence: string[] = [];
  const times: number[] = [];
  for (const [group, held] of groupBy(occupancies, (o) => o.group)) {
    const limit = Math.min(...held.map((o) => o.limit));
    for (const crowd of overLimit(held, limit)) {
      evidence.push(`group '${group}' (limit ${limit}) had ${crowd.members.length} jobs under way at ${clockTime(crowd.at)}: ${crowd.members.map(describe).join('; ')}`);
      times.push(crowd.at / 1000);
    }
  }
  const notes = [`${occupancies.length} executions of ${names.join(', ')} in ${new Set(occupancies.map((o) => o.group)).size} group(s), from the journal`];
  return brokenAt(invariantReport(4, evidence, notes), times);
}

function occupancyOf(same: readonly StepExecution[], gated: GatedJobs, deaths: AgentDeaths): Occupancy {
  const first = same[0]!;
  const { group, limit } = gated[first.jobName]!;
  const ends = same.map((e) => e.endedAt ?? killedAt(e, deaths) ?? e.startedAt);
  return {
    job: `${first.jobName} of run ${first.runId}`,
    group,
    limit,
    from: Math.min(...same.map((e) => e.startedAt)),
    to: Math.max(...ends),
    agents: [...new Set(same.map((e) => e.agent))],
  };
}

/**
 * Each moment more than `limit` occupancies overlapped, reported once per crowd: sweep the starts
 * in order, keeping those not yet over; a start that finds `limit` others under way is a violation.
 */
function overLimit(held: readonly Occupancy[], limit: number): { at: number; members: Occupancy[] }[] {
  const out: { at: number; members: Occupancy[] }[] = [];
  const sorted = [...held].sort((a, b) => a.from - b.from);
  let open: Occupancy[] = [];
  for (const o of sorted) {
    open = open.filter((x) => x.to > o.from);
    open.push(o);
    if (open.length > limit) out.push({ at: o.from, members: [...open] });
  }
  return out;
}

function describe(o: Occupancy): string {
  return `${o.job} on ${o.agents.join(', ')} (${clockTime(o.from)}–${clockTime(o.to)})`;
}
