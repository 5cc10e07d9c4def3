/**
 * What the checker hands back: per invariant of DESIGN §7, held, broken, or not exercised, with
 * the evidence that broke it (naming deliveries, runs, jobs, agents, shards) and notes on what was
 * and wasn't looked at, so "held" is never read as more than the data allowed.
 */

/** The seven invariants of DESIGN §7. */
export type InvariantNumber = 1 | 2 | 3 | 4 | 5 | 6 | 7;

export const INVARIANT_STATEMENTS: Record<InvariantNumber, string> = {
  1: 'every accepted webhook delivery leads to the runs its lock file asks for, exactly once',
  2: 'every run reaches a terminal state',
  3: 'a job never runs on two agents at the same time, nor twice for one attempt',
  4: "an environment's concurrency limit is never exceeded, cluster-wide",
  5: 'a hold is decided once: approved, rejected or expired, never two of these',
  6: "at most one coordinator acts per term; a deposed coordinator's writes are rejected",
  7: 'no secret value appears in a log, an API response or an error message',
};

/**
 * `held`: looked at, nothing broke it. `broken`: evidence says it broke. `not exercised`: nothing
 * in the run could have broken it (or nothing could be looked at), so it is neither.
 */
export type Verdict = 'held' | 'broken' | 'not exercised';

export interface InvariantReport {
  invariant: InvariantNumber;
  statement: string;
  verdict: Verdict;
  /** verdict === 'held'. */
  held: boolean;
  /** Empty unless broken; otherwise one line per thing that broke it. */
  evidence: string[];
  /** What was checked, and what could not be. */
  notes: string[];
  /** When broken, and the evidence tells: when the first violation happened (epoch ms), so a run can name the faults around it. */
  firstViolationAtMs?: number;
}

/** Held when there is no evidence, broken otherwise. */
export function invariantReport(invariant: InvariantNumber, evidence: string[], notes: string[]): InvariantReport {
  const verdict: Verdict = evidence.length === 0 ? 'held' : 'broken';
  return { invariant, statement: INVARIANT_STATEMENTS[invariant], verdict, held: verdict === 'held', evidence, notes };
}

/**
 * A report whose violations happened at `atMs` (epoch ms, one per violation whose time the
 * evidence tells): records the earliest, so the run can name what was going on around it.
 */
export function brokenAt(report: InvariantReport, atMs: readonly number[]): InvariantReport {
  const first = Math.min(...atMs);
  if (report.verdict === 'broken' && Number.isFinite(first)) report.firstViolationAtMs = Math.floor(first);
  return report;
}

/** An invariant the run gave no chance to break; `why` says what it would have taken. */
export function notExercised(invariant: InvariantNumber, why: string): InvariantReport {
  return { invariant, statement: INVARIANT_STATEMENTS[invariant], verdict: 'not exercised', held: false, evidence: [], notes: [why] };
}

/** Every report held (a "not exercised" one is not held). */
export function allHeld(reports: readonly InvariantReport[]): boolean {
  return reports.every((r) => r.verdict === 'held');
}

/** No report broken ("not exercised" ones pass). */
export function noneBroken(reports: readonly InvariantReport[]): boolean {
  return reports.every((r) => r.verdict !== 'broken');
}

const VERDICT_LABEL: Record<Verdict, string> = { held: 'HELD', broken: 'BROKEN', 'not exercised': 'NOT EXERCISED' };

/** Human-readable report; at most `maxEvidence` lines of evidence per invariant. */
export function formatReport(reports: readonly InvariantReport[], maxEvidence = 25): string {
  const out: string[] = [];
  for (const report of reports) {
    out.push(`invariant ${report.invariant}: ${report.statement}: ${VERDICT_LABEL[report.verdict]}`);
    for (const line of report.evidence.slice(0, maxEvidence)) out.push(`  ✗ ${line}`);
    if (report.evidence.length > maxEvidence) out.push(`  … and ${report.evidence.length - maxEvidence} more`);
    for (const note of report.notes) out.push(`  · ${note}`);
  }
  const broken = reports.filter((r) => r.verdict === 'broken').map((r) => r.invariant);
  const unexercised = reports.filter((r) => r.verdict === 'not exercised').map((r) => r.invariant);
  const tail = unexercised.length ? ` (not exercised: ${unexercised.join(', ')})` : '';
  out.push(broken.length === 0 ? `no invariant broken${tail}` : `broken: ${broken.join(', ')}${tail}`);
  return out.join('\n');
}
