/**
 * The chaos room's door (DESIGN §7): `npm run chaos` is `cli.ts`; what tests and other tools use is
 * exported here — the fault proxy, the scenarios and their schedules, one scenario's run, the
 * invariant checker and the report.
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
  readHoldsView,
  type DatabaseView,
  type HoldsView,
  type HoldView,
  type HoldVoteView,
  type HeldJobView,
  type DeliveryView,
  type JobView,
  type RunView,
  type ShardView,
} from './database-view.js';
export { sampleDatabase, type DatabaseSamples, type SampleOptions } from './database-samples.js';
export { expectMatchedCount, expectWorkflows, type ExpectedRuns } from './expected-runs.js';
export { checkInvariants, judgeInvariants, type CheckInput, type HoldReviews, type JudgeInput } from './checker.js';
export { checkHoldsDecidedOnce, type HoldSighting, type HoldsInput, type VoteAnswer } from './invariants/holds-decided-once.js';
export { Reviewer, REVIEWER_NAME, reviewKey, reviewPlan, type ReviewKind, type ReviewPlan, type ReviewRecord } from './reviewer.js';
export { allHeld, formatReport, INVARIANT_STATEMENTS, invariantReport, noneBroken, notExercised, type InvariantNumber, type InvariantReport, type Verdict } from './report.js';
export { FAULT_KINDS, type CampaignFigures, type CampaignReport, type FaultEvent, type FaultKind, type FaultOutcome, type LeaderSample, type ScenarioReport, type ThroughputSample, type Topology } from './campaign.js';
export { formatCampaign, formatDuration, replayCommand } from './campaign-summary.js';
export { escapeXml, leaderSpans, ratesPerSecond, timelineFileName, timelineSvg, type LeaderChange, type LeaderSpan, type SecondRate } from './timeline.js';
export { writeCampaign, type CampaignFiles } from './report-files.js';
export { FaultProxy, type Direction, type DelayRange } from './fault-proxy.js';
export { ALL_SCENARIOS, drawSchedule, PROFILES, REGRESSION_SCENARIOS, SCENARIOS, scenarioSeed, type Profile, type Scenario } from './scenarios.js';
export { runScenario, type ScenarioRunOptions } from './scenario-run.js';
export { type AgentDeaths } from './invariants/job-exclusivity.js';
export { checkSecretsHidden, MIN_SECRET_LENGTH, readSecretTexts, scrubberFor, SECRET_TEXT_MAX_BYTES, type ScannedText, type SecretsInput, type SecretValue } from './invariants/secrets.js';
