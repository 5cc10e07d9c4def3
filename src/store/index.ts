/**
 * The store room's door. `openStore()` gives a Store: one repository per table group
 * (`store.runs`, `store.jobs`, `store.deliveries`, …), `store.migrations`, `store.ping()`,
 * `store.close()` and `store.driver`; `store.statements()` counts the statements and round trips
 * sent at the driver (diff two readings to cost a piece of work; `store.watchStatements(fn)` shows
 * their SQL, for benches); `store.clockSource.sample()` is the database's time (the
 * clock room's `TimeSource` for `DatabaseClock`); object storage (blobs, step logs) sits beside
 * it, on the filesystem (`openFilesystemStorage`) or in the store's database
 * (`openDatabaseStorage`). The query builder never leaves the room: rooms outside see records and
 * repository methods only.
 * (`testing.ts` is a second door for tests alone; src/ never imports it.)
 */
export { openStore, type Store, type StoreOptions } from './store.js';
export type { Repositories } from './repositories.js';
export type { DatabaseDriver } from './database.js';
export { STATEMENT_KINDS, type StatementCounts, type StatementKind, type StatementWatcher } from './statement-counter.js';
export { DatabaseLockedError } from './pglite-lock.js';
export { type Migrations, MIGRATION_NAMES, type MigrationState, type MigrationStatus, SchemaBehindError } from './migrate.js';
export { FencedWriteError, NodeRevokedError, NotFoundError } from './errors.js';
// The run domain's ports (RunStore, OverdueJobs) implemented over the repositories.
export { RepositoryRunStore } from './run-store.js';
export type { StatusGuard } from './guards.js';
export type { ClusterRole, RunConcurrency, SourceKind, SourceVerification } from './schema.js';

export type { RunRepository, CreateRunResult, DeliveryRuns, DeliveryRunsResult, NewJob, NewJobNeed, NewRun, NewStep, RunChanges, RunFilter, RunSnapshot } from './runs.js';
export type { PushClaim } from './run-inserts.js';
export type { JobRepository, JobChanges } from './jobs.js';
export type { StepRepository, StepChanges } from './steps.js';
export type { JobNeed, JobRecord, RunRecord, StepRecord } from './run-records.js';
export type { NewSource, Source, SourceChanges, SourceRepository } from './sources.js';
export type { ScopeNames, SealedSecretRepository, SealedValue, SecretLocation } from './sealed-secrets.js';
export { type KeyRotationRepository, type KeyVersionCount, SEALED_TABLES, type SealedRow, type SealedRowCursor, type SealedRowLocation, type SealedTable } from './key-rotation.js';
export {
  parseSourceChange,
  type SourceChange,
  type SourceChangeListenOptions,
  type SourceChangeRepository,
  SOURCES_CHANGE_CHANNEL,
  sourceSecretScope,
} from './source-changes.js';
export type { AdminTokenRecord, AdminTokenRepository, CreateOptions as AdminTokenCreateOptions, NewAdminToken } from './admin-tokens.js';
export type { AdminTokenRole } from './schema.js';
export type { OpenedUiSession, UiSession, UiSessionRepository } from './ui-sessions.js';
export {
  AdminTokenNameTakenError,
  AdminTokenRevokedError,
  InvalidAdminTokenNameError,
  LastAdminTokenError,
  UnknownAdminTokenError,
} from './admin-token-errors.js';
export { ADMIN_TOKEN_ID_PREFIX, ADMIN_TOKEN_NAME_MAX_LENGTH, ADMIN_TOKEN_NAME_RULE, adminTokenNameProblem, SYSTEM_ACTOR_NAME } from './admin-token-names.js';
export { type AuditAction, type AuditActor, type AuditEvent, type AuditFilter, type AuditRepository, type NewAuditEvent, SYSTEM_ACTOR } from './audit.js';
export type { AgentRecord, AgentRegistration, AgentRepository, AgentTokenRecord, NewAgentToken } from './agents.js';
export {
  type DeliveryFilter,
  type DeliveryKey,
  type DeliveryOutcome,
  type DeliveryRecord,
  type DeliveryRepository,
  type DeliveryWithBody,
  deliveryShard,
  type NewDelivery,
  payloadHash,
  type ReceivedFilter,
  type RecordDeliveryResult,
} from './deliveries.js';
export type { RegisteredWorkflow, RegistrationRepository, WorkflowRegistration } from './registrations.js';
export type { ShardOwner, ShardRepository } from './shards.js';
export type { RefTip, RefTipRepository } from './ref-tips.js';
export type { ClockSourceRepository } from './clock-source.js';
export type { EnvironmentRepository } from './environments.js';
export { type EnvironmentBinding, EnvironmentBindingExistsError, type EnvironmentBindingRepository, type NewEnvironmentBinding } from './environment-bindings.js';
export type { EnvironmentVariableRepository, SetVariable, StoredOverride, StoredVariable, Upserted, VariableOwner } from './environment-variables.js';
export type { HeldRunChange, HoldRepository, OverdueHold, PendingHolds } from './holds.js';
export { type NewSecretBackend, SecretBackendExistsError, type SecretBackendHealth, SecretBackendInUseError, type SecretBackendRecord, type SecretBackendRepository, type SecretBackendType } from './secret-backends.js';
export {
  type ClusterIdentityRecord,
  type ClusterRepository,
  type ConsumeJoinTokenResult,
  type JoinSecretProof,
  type JoinTokenRecord,
  type JoinTokenRefusal,
  type JoinTokenState,
  joinTokenState,
  type NewClusterIdentity,
  type NewJoinToken,
  type NewNodeCertificate,
  type NodeCertificateRecord,
  type RevokedNode,
  type RevokeJoinTokenResult,
} from './cluster.js';
export * from './blobs/index.js';
