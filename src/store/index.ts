/**
 * The store room: the database (pg or PGlite behind one Kysely), its migrations, one repository
 * module per table group, and object storage. Other rooms use only what this door exports.
 */
export { type DatabaseDriver, type Db, openDatabase, type OpenDatabaseOptions, type StoreDatabase } from './database.js';
export { DatabaseLockedError } from './pglite-lock.js';
export {
  migrate,
  MIGRATION_NAMES,
  type MigrationState,
  type MigrationStatus,
  migrationStatus,
  prepareSchema,
  SchemaBehindError,
} from './migrate.js';
export { FencedWriteError, NotFoundError } from './errors.js';
export { inTransaction, type StatusGuard } from './guards.js';
export {
  DELIVERY_STATUSES,
  type DeliveryStatus,
  JOB_STATUSES,
  type JobStatus,
  RUN_STATUSES,
  type RunConcurrency,
  type RunStatus,
  type SourceKind,
  type SourceVerification,
  STEP_STATUSES,
  type StepStatus,
  TERMINAL_JOB_STATUSES,
  TERMINAL_RUN_STATUSES,
} from './schema.js';

export {
  createSource,
  deleteSource,
  findSourceByName,
  getSource,
  listSources,
  type NewSource,
  newSourceId,
  purgeSource,
  type Source,
  type SourceChanges,
  updateSource,
} from './sources.js';
export {
  deleteSealedSecret,
  deleteSecretScope,
  getSealedSecret,
  listSecretKeys,
  putSealedSecret,
  type SealedValue,
  type SecretLocation,
} from './sealed-secrets.js';
export {
  type AdminTokenRecord,
  findActiveAdminToken,
  insertAdminToken,
  listAdminTokens,
  type NewAdminToken,
  revokeAdminToken,
} from './admin-tokens.js';
export {
  type AgentRecord,
  type AgentRegistration,
  type AgentTokenRecord,
  findValidAgentToken,
  getAgent,
  getAgentToken,
  insertAgentToken,
  listAgents,
  listAgentTokens,
  type NewAgentToken,
  registerAgent,
  revokeAgentToken,
  touchAgent,
} from './agent-tokens.js';
export {
  completeDelivery,
  countDeliveriesByStatus,
  DEDUP_TTL_MS,
  type DeliveryFilter,
  type DeliveryOutcome,
  type DeliveryRecord,
  type DeliveryWithBody,
  findDeliveriesById,
  findDeliveryByDedupKey,
  getDelivery,
  getDeliveryWithBody,
  listDeliveries,
  listReceivedDeliveries,
  type NewDelivery,
  payloadHash,
  recordDelivery,
  type RecordDeliveryResult,
  sweepDedupKeys,
} from './deliveries.js';
export {
  getRegistration,
  listRegistrations,
  type RegisteredWorkflow,
  replaceRegistrations,
  type WorkflowRegistration,
} from './registrations.js';
export { assignShard, getShard, listShards, seedShards, SHARD_COUNT, type ShardOwner } from './shards.js';
export type { JobNeed, JobRecord, RunRecord, StepRecord } from './run-records.js';
export {
  claimRun,
  createRun,
  type CreateRunResult,
  getRun,
  listNonTerminalRuns,
  listRuns,
  listRunsForDelivery,
  loadRun,
  type NewJob,
  type NewJobNeed,
  type NewRun,
  type NewStep,
  type RunChanges,
  type RunFilter,
  type RunSnapshot,
  updateRun,
} from './runs.js';
export {
  getJob,
  type JobChanges,
  listJobNeeds,
  listJobs,
  listJobsByStatus,
  listOverdueAcks,
  listOverdueRecoveries,
  listStaleRunningJobs,
  markJobStale,
  recordJobHeartbeat,
  updateJob,
  updateJobStatus,
} from './jobs.js';
export { listSteps, type StepChanges, updateStep } from './steps.js';
export * from './blobs/index.js';
