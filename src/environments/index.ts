/**
 * The environments room's door. For now: what an environment is (its protection rules and their
 * defaults), the checks every store runs before writing one, which environment a job's name
 * matches (exact name, then the most specific glob), the EnvironmentStore port with its in-memory
 * implementation, and the room's refusals. Pure: no sockets, no database driver.
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
export { matchEnvironment, type EnvironmentMatch, type MatchableEnvironment } from './matching.js';
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
