/**
 * Invariant 3: a job never runs on two agents at the same time, and never twice for one attempt.
 * Judged from the journal alone (the database keeps only a job's latest agent):
 *
 * - twice for one attempt: two executions of the same step of the same (run, job, dispatch
 *   attempt), on any agents, finished or killed. A step's own retries are told apart (stepTry).
 * - at the same time: two executions of one job whose intervals overlap and that are not the same
 *   (agent, attempt): on two agents, or two attempts at once on one agent. An execution without an
 *   end line counts as an instant at its start, so only overlaps the journal proves are reported.
 *
 * An execution the workload itself cut short by killing its agent (kill -9 of the agent and its
 * steps, at a time the workload records in `agentDeaths`) is lost with the agent: the job running
 * again for the same attempt afterwards is the system recovering, not a duplicate.
 *
 * A journal line that cannot be read (other than a torn last line) breaks the invariant: an
 * execution may be missing, and the journal can no longer vouch for it.
 */
import type { Journal } from '../journal-reader.js';
import { groupBy } from '../grouping.js';
import { brokenAt, invariantReport, type InvariantReport } from '../report.js';
import { describeExecution, killedAt, lastSeen, pairExecutions, type AgentDeaths, type StepExecution } from '../step-executions.js';

export type { AgentDeaths } from '../step-executions.js';

export function checkJobExclusivity(journal: Journal, agentDeaths: AgentDeaths = {}): InvariantReport {
  const evidence: string[] = [];
  const notes: string[] = [];
  if (!journal.found) notes.push('no journal file: no step execution was recorded, nothing to check');

  for (const problem of journal.problems) {
    if (problem.torn) notes.push(`journal line ${problem.line} is torn (a writer killed mid-append), ignored`);
    else evidence.push(`journal line ${problem.line} cannot be read (${problem.reason}): executions may be missing`);
  }

  const { executions, oddities } = pairExecutions(journal.entries);
  notes.push(...oddities);
  const byJob = groupBy(executions, (e) => `${e.runId}/${e.jobId}`);
  let lost = 0;
  const violations: Violation[] = [];
  for (const runs of byJob.values()) {
    const checked = duplicateAttempts(runs, agentDeaths);
    lost += checked.lost;
    violations.push(...checked.violations, ...overlaps(runs));
  }
  evidence.push(...violations.map((v) => v.text));
  if (lost > 0) notes.push(`${lost} executions were cut short when the workload killed their agent: not counted as runs of their attempt`);

  const killed = executions.filter((e) => e.endedAt === undefined).length;
  notes.unshift(
    `${executions.length} step executions of ${byJob.size} jobs in the journal` + (killed > 0 ? `, ${killed} without an end line (killed)` : ''),
  );
  return brokenAt(invariantReport(3, evidence, notes), violations.map((v) => v.atMicros / 1000));
}

/** One line of evidence, and when it happened: the moment the job ran again, or began to overlap. */
interface Violation {
  text: string;
  atMicros: number;
}

/**
 * Copies of one step (in start order) lost with their agent before the next copy started: only
 * a copy that was over before the job ran again is excused; one killed later ran alongside it.
 */
function lostCopies(same: readonly StepExecution[], deaths: AgentDeaths): Set<StepExecution> {
  const lost = new Set<StepExecution>();
  for (let i = 0; i + 1 < same.length; i += 1) {
    const at = killedAt(same[i] as StepExecution, deaths);
    if (at === undefined || at > (same[i + 1] as StepExecution).startedAt) break;
    lost.add(same[i] as StepExecution);
  }
  return lost;
}

function jobName(e: StepExecution): string {
  return `run ${e.runId} job ${e.jobId} "${e.jobName}"`;
}

/** Duplicate runs of one step of one attempt, and how many copies were excused as lost with their agent. */
function duplicateAttempts(executions: readonly StepExecution[], deaths: AgentDeaths): { violations: Violation[]; lost: number } {
  const out: Violation[] = [];
  let lostCount = 0;
  const byStep = groupBy(executions, (e) => `${e.attempt}/${e.stepIndex}/${e.stepTry}`);
  for (const all of byStep.values()) {
    const lost = lostCopies(all, deaths);
    lostCount += lost.size;
    const same = all.filter((e) => !lost.has(e));
    if (same.length < 2) continue;
    const first = same[0] as StepExecution;
    const step = `step ${first.stepIndex}` + (first.stepTry > 1 ? ` (its try ${first.stepTry})` : '');
    const text = `${jobName(first)}: attempt ${first.attempt} ran ${step} ${same.length} times: ${same.map(describeExecution).join('; ')}`;
    out.push({ text, atMicros: (same[1] as StepExecution).startedAt });
  }
  return { violations: out, lost: lostCount };
}

function overlaps(executions: readonly StepExecution[]): Violation[] {
  const out: Violation[] = [];
  const reported = new Set<string>();
  // Sorted by start (pairExecutions): once b starts after a was last seen, later ones do too.
  for (let i = 0; i < executions.length; i += 1) {
    const a = executions[i] as StepExecution;
    for (let j = i + 1; j < executions.length; j += 1) {
      const b = executions[j] as StepExecution;
      if (b.startedAt >= lastSeen(a)) break;
      if (a.agent === b.agent && a.attempt === b.attempt) continue;
      // One line per pair of (agent, attempt) runs of the job, not one per pair of steps.
      const pair = `${a.agent}/${a.attempt}|${b.agent}/${b.attempt}`;
      if (reported.has(pair)) continue;
      reported.add(pair);
      const how = a.agent === b.agent ? `twice at once on ${a.agent}` : `on ${a.agent} and ${b.agent} at the same time`;
      out.push({ text: `${jobName(a)} ran ${how}: step ${a.stepIndex} ${describeExecution(a)} overlaps step ${b.stepIndex} ${describeExecution(b)}`, atMicros: b.startedAt });
    }
  }
  return out;
}
