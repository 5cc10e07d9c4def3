/**
 * What the checker hands back: per invariant of DESIGN §7, held or broken, with the evidence that
 * broke it (naming deliveries, runs, jobs, agents, shards) and notes on what was and wasn't looked
 * at, so "held" is never read as more than the data allowed.
 */

/** The DESIGN §7 invariants this checker judges (4, 5 and 7 need other evidence). */
export type InvariantNumber = 1 | 2 | 3 | 6;

export const INVARIANT_STATEMENTS: Record<InvariantNumber, string> = {
  1: 'every accepted webhook delivery leads to the runs its lock file asks for, exactly once',
  2: 'every run reaches a terminal state',
  3: 'a job never runs on two agents at the same time, nor twice for one attempt',
  6: "at most one coordinator acts per term; a deposed coordinator's writes are rejected",
};

export interface InvariantReport {
  invariant: InvariantNumber;
  statement: string;
  held: boolean;
  /** Empty when held; otherwise one line per thing that broke it. */
  evidence: string[];
  /** What was checked, and what could not be. */
  notes: string[];
}

export function invariantReport(invariant: InvariantNumber, evidence: string[], notes: string[]): InvariantReport {
  return { invariant, statement: INVARIANT_STATEMENTS[invariant], held: evidence.length === 0, evidence, notes };
}

export function allHeld(reports: readonly InvariantReport[]): boolean {
  return reports.every((r) => r.held);
}

/** Human-readable report; at most `maxEvidence` lines of evidence per invariant. */
export function formatReport(reports: readonly InvariantReport[], maxEvidence = 25): string {
  const out: string[] = [];
  for (const report of reports) {
    out.push(`invariant ${report.invariant}: ${report.statement}: ${report.held ? 'HELD' : 'BROKEN'}`);
    for (const line of report.evidence.slice(0, maxEvidence)) out.push(`  ✗ ${line}`);
    if (report.evidence.length > maxEvidence) out.push(`  … and ${report.evidence.length - maxEvidence} more`);
    for (const note of report.notes) out.push(`  · ${note}`);
  }
  const broken = reports.filter((r) => !r.held).map((r) => r.invariant);
  out.push(broken.length === 0 ? 'all invariants held' : `broken: ${broken.join(', ')}`);
  return out.join('\n');
}
