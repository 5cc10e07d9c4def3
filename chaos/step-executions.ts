/**
 * Journal lines paired into executions: one step, run once, on one agent, from its start line to
 * its end line. An execution without an end was killed with SIGKILL (or its agent was): when it
 * stopped is unknown, so it counts as an instant at its start. That keeps overlap reports to those
 * the journal proves, and a duplicate is still seen whether it ended or not.
 */
import type { JournalEntry } from './journal-reader.js';

export interface StepExecution {
  execution: string;
  runId: string;
  jobId: string;
  jobName: string;
  attempt: number;
  agent: string;
  stepIndex: number;
  stepTry: number;
  startedAt: number;
  /** Absent: no end line (killed). */
  endedAt?: number;
  exitCode?: number;
}

export interface PairedExecutions {
  executions: StepExecution[];
  /** Lines that pair with nothing sensible (an end without a start, a second start…). */
  oddities: string[];
}

export function pairExecutions(entries: readonly JournalEntry[]): PairedExecutions {
  const starts = new Map<string, JournalEntry>();
  const ends = new Map<string, JournalEntry>();
  const oddities: string[] = [];
  for (const entry of entries) {
    const seen = entry.event === 'start' ? starts : ends;
    if (seen.has(entry.execution)) oddities.push(`execution ${entry.execution} has a second ${entry.event} line`);
    else seen.set(entry.execution, entry);
  }
  const executions: StepExecution[] = [];
  for (const [id, start] of starts) {
    const end = ends.get(id);
    if (end && !sameStep(start, end)) {
      oddities.push(`execution ${id}: its end line names another step (run ${end.runId} job ${end.jobId}) than its start`);
    }
    executions.push({
      execution: id,
      runId: start.runId,
      jobId: start.jobId,
      jobName: start.jobName,
      attempt: start.attempt,
      agent: start.agent,
      stepIndex: start.stepIndex,
      stepTry: start.stepTry,
      startedAt: start.atMicros,
      ...(end && { endedAt: end.atMicros }),
      ...(end?.exitCode !== undefined && { exitCode: end.exitCode }),
    });
  }
  for (const [id, end] of ends) {
    if (!starts.has(id)) oddities.push(`execution ${id} (run ${end.runId} job ${end.jobId}) has an end line and no start`);
  }
  executions.sort((a, b) => a.startedAt - b.startedAt || a.execution.localeCompare(b.execution));
  return { executions, oddities };
}

function sameStep(a: JournalEntry, b: JournalEntry): boolean {
  return a.runId === b.runId && a.jobId === b.jobId && a.attempt === b.attempt && a.agent === b.agent && a.stepIndex === b.stepIndex && a.stepTry === b.stepTry;
}

/** Agent name → the times (µs since the epoch, the journal's clock) the workload killed it. */
export type AgentDeaths = Readonly<Record<string, readonly number[]>>;

/** No end line, and its agent was killed after it started: the first such kill ended it. */
export function killedAt(e: StepExecution, deaths: AgentDeaths): number | undefined {
  if (e.endedAt !== undefined) return undefined;
  const after = (deaths[e.agent] ?? []).filter((at) => at >= e.startedAt);
  return after.length > 0 ? Math.min(...after) : undefined;
}

/** When the execution is last known to have been running: its end, or its start when it has none. */
export function lastSeen(execution: StepExecution): number {
  return execution.endedAt ?? execution.startedAt;
}

/** `12:00:01.250000–12:00:03.000000 on agent-b`, for evidence lines. */
export function describeExecution(execution: StepExecution): string {
  const end = execution.endedAt === undefined ? 'no end line (killed)' : clockTime(execution.endedAt);
  return `attempt ${execution.attempt} on ${execution.agent}, ${clockTime(execution.startedAt)} to ${end}`;
}

/** ISO time with microseconds: the journal's resolution. */
export function clockTime(micros: number): string {
  const iso = new Date(Math.floor(micros / 1000)).toISOString();
  return `${iso.slice(0, 23)}${String(micros % 1000).padStart(3, '0')}Z`;
}
