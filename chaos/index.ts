/**
 * The chaos room's door (DESIGN §7). So far: the invariant checker.
 *
 * - `journalStep(path, work)`: the `run:` of a workload step; each execution appends a start and
 *   an end line to the shared journal file.
 * - `sampleDatabase({ databaseUrl })`: views of the database taken while the workload runs.
 * - `checkInvariants({ journal, databaseUrl, expect, samples })`: invariants 1, 2, 3 and 6, each
 *   held or broken with its evidence; `formatReport` prints them, `allHeld` sums them up.
 */
export { journalStep, JOURNAL_FORMAT } from './journal.js';
export { parseJournal, readJournal, type Journal, type JournalEntry, type JournalProblem, type JournalReadOptions } from './journal-reader.js';
export { pairExecutions, type StepExecution } from './step-executions.js';
export {
  readDatabaseView,
  type DatabaseView,
  type DeliveryView,
  type JobView,
  type RunView,
  type ShardView,
} from './database-view.js';
export { sampleDatabase, type DatabaseSamples, type SampleOptions } from './database-samples.js';
export { expectMatchedCount, expectWorkflows, type ExpectedRuns } from './expected-runs.js';
export { checkInvariants, judgeInvariants, type CheckInput, type JudgeInput } from './checker.js';
export { allHeld, formatReport, INVARIANT_STATEMENTS, type InvariantNumber, type InvariantReport } from './report.js';
