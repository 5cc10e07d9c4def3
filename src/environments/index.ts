/**
 * The environments room's door: what an environment is (its protection rules and their defaults),
 * the checks every store runs before writing one, which environment a job's name matches (exact
 * name, then the most specific glob), the EnvironmentStore port with its in-memory
 * implementation, the room's refusals, the protection gates of a job (pure), and the EnvGroupActor
 * that admits jobs to an environment concurrency group. Pure: no sockets, no database driver.
 * The RunActor calls the gates (through this door) before it dispatches a job naming environments.
 */
export {
  CONCURRENCY_STRATEGIES,
  DEFAULT_PROTECTION,
  ENVIRONMENT_LIMITS,
  ENVIRONMENT_TYPES,
  TRUST_TIERS,
  shapeOf,
  type ConcurrencyStrategy,
  type Environment,
  type EnvironmentChanges,
  type EnvironmentShape,
  type EnvironmentType,
  type NewEnvironment,
  type ProtectionRules,
  type TrustTier,
} from './environment.js';
export { EnvironmentDeleteBlockedError, EnvironmentNameTakenError, InvalidEnvironmentError } from './errors.js';
export { globMatches, globProblem, literalCharacters } from './glob.js';
export { bindEnvironments, matchEnvironment, type EnvironmentMatch, type MatchableEnvironment } from './matching.js';
export type { EnvironmentStore } from './ports.js';
export { MemoryEnvironmentStore } from './memory-environment-store.js';
export {
  changedEnvironmentShape,
  environmentNameSchema,
  environmentTypeSchema,
  globPatternSchema,
  newEnvironmentShape,
  protectionRuleSchemas,
} from './rules.js';
export {
  AUTHOR_TRUST,
  GATE_ORDER,
  type AuthorTrust,
  type BoundEnvironment,
  type GatedJob,
  type GateEnvironment,
  type GateEvent,
  type GateName,
  type PassableGate,
} from './gate-types.js';
export { REJECTION_PREFIX, type GateRejection, type RejectionCode } from './gate-rejections.js';
export type { ConcurrencySlot } from './gate-combination.js';
export { gateJob, type GateDecision } from './gates.js';
export { currentGroupRules, withCurrentRules } from './group-rules.js';
export {
  CANCELLED_MEMORY,
  EnvGroup,
  type EnvGroupSnapshot,
  type GroupSettings,
  type JobRef,
  type SlotAnswer,
  type SlotNotice,
  type SlotVerdict,
} from './env-group.js';
export {
  ENV_GROUP_KIND,
  RELOAD_MS,
  EnvGroupActor,
  envGroupKey,
  envGroupOfKey,
  envGroupRef,
  registerEnvGroupActor,
  type EnvGroupIdentity,
  type EnvGroupMessage,
  type EnvGroupPorts,
  type StoredEnvGroup,
} from './env-group-actor.js';
export {
  HOLD_STATUSES,
  VERDICTS,
  castVote,
  expiryReason,
  holdExpired,
  rejectionReason,
  remainingReviewers,
  type Hold,
  type HoldGate,
  type HoldStatus,
  type HoldVote,
  type NewHold,
  type Verdict,
  type VoteOutcome,
} from './holds.js';
export {
  RESERVED_VARIABLE_PREFIX,
  VARIABLE_LIMITS,
  foldVariables,
  overrideIgnored,
  variableKeyProblem,
  variableKeySchema,
  variableValueProblem,
  variableValueSchema,
  variablesOf,
  type EnvironmentVariable,
  type EnvironmentVariableSet,
  type SourceOverride,
} from './variables.js';
