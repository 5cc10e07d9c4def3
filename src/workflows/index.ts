/**
 * The workflows room: the lock file's schema, trigger matching with decision traces, matrix
 * expansion, run planning and step-environment derivations. Everything here is pure.
 */
export * from './lockfile-schema.js';
export { parseLockfile, checkLockfile, type LockfileParseResult } from './parse-lockfile.js';
export { formatFieldPath, formatIssue } from './issue-path.js';
export { findNeedsCycle, needName, type FieldPath, type RuleViolation } from './lockfile-rules.js';
export { unsupportedFields } from './unsupported.js';
export { labelsSatisfy, describeMatchers } from './runs-on.js';
export type { CiEvent, CiEventType } from './event.js';
export { describePattern, matchesPattern, matchPatternList, matchPaths, type PatternOutcome } from './patterns.js';
export {
  matchWorkflows,
  matchWorkflow,
  matchTrigger,
  needsChangedFiles,
  hasGitIndependentTriggers,
  type TraceEntry,
  type WorkflowDecision,
} from './trigger-matching.js';
export {
  expandMatrix,
  matrixProblem,
  matrixChildName,
  matrixDimensionNames,
  MatrixError,
  MAX_MATRIX_CHILDREN,
  type MatrixChild,
} from './matrix.js';
export { planRun, rootJobs, stepName, type PlannedJob, type PlannedEdge, type RunPlan } from './run-plan.js';
export {
  STEP_METADATA_VARIABLES,
  STEP_METADATA_PREFIXES,
  envNamePart,
  matrixEnv,
  needsEnv,
  needsEnvFromFile,
  needsFile,
  groupStatus,
  parseOutputFile,
  type UpstreamResult,
  type NeedsFile,
  type NeedsFileJob,
  type NeedsFileChild,
} from './step-environment.js';

// Providers fetch lock files and changed files from a source's repository (git mirrors today).
export * from './provider/index.js';
