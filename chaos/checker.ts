/**
 * The invariant checker: the journal the workload's steps wrote and what the database says, judged
 * against invariants 1, 2, 3 and 6 of DESIGN §7, 4 when the workload names its gated jobs, and 5
 * when it holds jobs for review (`holds`: the holds as the run left them, the reviewer's record).
 *
 * `judgeInvariants` is pure (hand-built inputs in unit tests); `checkInvariants` reads a journal
 * file and a database and judges them (e2e and chaos tests, and the `check` command).
 */
import type { DatabaseView, HoldsView } from './database-view.js';
import { readDatabaseView, readHoldsView } from './database-view.js';
import { type ExpectedRuns, expectMatchedCount } from './expected-runs.js';
import { checkDeliveryRuns } from './invariants/delivery-runs.js';
import { checkEnvironmentLimits, type GatedJobs } from './invariants/environment-limits.js';
import { checkFencedWrites } from './invariants/fenced-writes.js';
import { checkHoldsDecidedOnce, type HoldSighting, type VoteAnswer } from './invariants/holds-decided-once.js';
import { type AgentDeaths, checkJobExclusivity } from './invariants/job-exclusivity.js';
import { checkTerminalRuns } from './invariants/terminal-runs.js';
import { type Journal, type JournalReadOptions, readJournal } from './journal-reader.js';
import type { InvariantReport } from './report.js';

export interface JudgeInput {
  journal: Journal;
  /** Views of the database, oldest first; the last is the state the workload ended in. */
  views: readonly DatabaseView[];
  /** Default: each delivery's own matched_count (weaker; see expected-runs.ts). */
  expect?: ExpectedRuns;
  /** When the workload killed agents (chaos kill-agent): their cut-short executions are not duplicates. */
  agentDeaths?: AgentDeaths;
  /** The workload's jobs in limited environments (invariant 4 is judged only when given). */
  gated?: GatedJobs;
  /** The holds at the end and what the reviewer heard and saw (invariant 5 is judged only when given). */
  holds?: { view: HoldsView } & HoldReviews;
}

/** What the workload's reviewer recorded (reviewer.ts): every answer to its votes, every status change it saw. */
export interface HoldReviews {
  answers?: readonly VoteAnswer[];
  sightings?: readonly HoldSighting[];
}

export function judgeInvariants(input: JudgeInput): InvariantReport[] {
  const last = input.views[input.views.length - 1];
  if (!last) throw new Error('judgeInvariants needs at least one database view');
  return [
    checkDeliveryRuns(last, input.expect ?? expectMatchedCount()),
    checkTerminalRuns(last),
    checkJobExclusivity(input.journal, input.agentDeaths),
    ...(input.gated ? [checkEnvironmentLimits(input.journal, input.gated, input.agentDeaths)] : []),
    ...(input.holds ? [checkHoldsDecidedOnce({ journal: input.journal, ...input.holds })] : []),
    checkFencedWrites(input.views),
  ];
}

export interface CheckInput extends JournalReadOptions {
  /** Path of the journal file the workload's steps appended to (journalStep). */
  journal: string;
  databaseUrl: string;
  expect?: ExpectedRuns;
  /**
   * Views taken during the workload (sampleDatabase(...).stop()). A final view is read from
   * `databaseUrl` and appended, so the end state is always judged as of now.
   */
  samples?: readonly DatabaseView[];
  agentDeaths?: AgentDeaths;
  gated?: GatedJobs;
  /** Given: invariant 5 is judged, over the holds read from `databaseUrl` at the end. */
  holds?: HoldReviews;
}

export async function checkInvariants(input: CheckInput): Promise<InvariantReport[]> {
  const journal = await readJournal(input.journal, input);
  const final = await readDatabaseView(input.databaseUrl);
  const holds = input.holds && { view: await readHoldsView(input.databaseUrl), ...input.holds };
  return judgeInvariants({
    journal,
    views: [...(input.samples ?? []), final],
    ...(input.expect && { expect: input.expect }),
    ...(input.agentDeaths && { agentDeaths: input.agentDeaths }),
    ...(input.gated && { gated: input.gated }),
    ...(holds && { holds }),
  });
}
