/**
 * The table groups, one repository each, over one query builder: the store's own, or a
 * transaction's (so repositories built over a transaction all write inside it).
 */
import { AdminTokenRepository } from './admin-tokens.js';
import { AgentRepository } from './agents.js';
import { AuditRepository } from './audit.js';
import { ClockSourceRepository } from './clock-source.js';
import { ClusterRepository } from './cluster.js';
import { CoordinatorTermRepository } from './coordinator-term.js';
import type { DatabaseDriver, Db } from './database.js';
import { DeliveryRepository } from './deliveries.js';
import { EnvironmentRepository } from './environments.js';
import { EnvironmentBindingRepository } from './environment-bindings.js';
import { EnvironmentVariableRepository } from './environment-variables.js';
import { HoldRepository } from './holds.js';
import { JobRepository } from './jobs.js';
import { KeyRotationRepository } from './key-rotation.js';
import { RefTipRepository } from './ref-tips.js';
import { RegistrationRepository } from './registrations.js';
import { RunRepository } from './runs.js';
import type { Listen } from './notifications.js';
import { SealedSecretRepository } from './sealed-secrets.js';
import { SecretBackendRepository } from './secret-backends.js';
import { ShardRepository } from './shards.js';
import { SourceChangeRepository } from './source-changes.js';
import { SourceRepository } from './sources.js';
import { StepRepository } from './steps.js';
import { UiSessionRepository } from './ui-sessions.js';

export interface Repositories {
  readonly runs: RunRepository;
  readonly jobs: JobRepository;
  readonly steps: StepRepository;
  readonly sources: SourceRepository;
  readonly sealedSecrets: SealedSecretRepository;
  /**
   * `sources_change`: every node hears of a committed change to a source or its credentials (the
   * source and secret writes notify by themselves); `listen` only on the store's own repositories.
   */
  readonly sourceChanges: SourceChangeRepository;
  /** Admin tokens; each creation and revocation commits with its audit row. */
  readonly adminTokens: AdminTokenRepository;
  /** Who did what to what (`audit_events`), newest first. */
  readonly audit: AuditRepository;
  /** Agent tokens and the agents registered with them. */
  readonly agents: AgentRepository;
  /** The event log and its dedup keys. */
  readonly deliveries: DeliveryRepository;
  /** Workflows registered from sources' default branches. */
  readonly registrations: RegistrationRepository;
  readonly shards: ShardRepository;
  /** Last processed commit per branch of a git source, and which delivery owns each push's runs. */
  readonly refTips: RefTipRepository;
  /** The cluster's identity (id and CA), its join tokens, the node certificates it issued and revocations. */
  readonly cluster: ClusterRepository;
  /** The database server's time (`sample()`), the reference the deadline clock keeps its offset to. */
  readonly clockSource: ClockSourceRepository;
  /** The term a leader claimed for its duties: a deposed coordinator's duty writes fail. */
  readonly coordinatorTerm: CoordinatorTermRepository;
  /** Deployment environments and their protection rules (the environments room's EnvironmentStore). */
  readonly environments: EnvironmentRepository;
  /** Which secret scopes each environment reaches (bind and unbind audited with the change). */
  readonly environmentBindings: EnvironmentBindingRepository;
  /** Environments' variables and per-source overrides; `forEnvironments` is the dispatch read. */
  readonly environmentVariables: EnvironmentVariableRepository;
  /** Jobs held at environments' gates and the reviewers' votes; every write rides with its job's fenced write. */
  readonly holds: HoldRepository;
  /** Secret backends besides the database (Vault): sealed configs; create and remove audited with the change. */
  readonly secretBackends: SecretBackendRepository;
  /** Master-key rotation: key versions of every sealed value, and re-sealed values written back. */
  readonly keyRotation: KeyRotationRepository;
  /** The web view's sign-in sessions; each is live only while its admin token is. */
  readonly uiSessions: UiSessionRepository;
}

/** `listen` and `driver` are the store's (absent for repositories bound to a transaction). */
export function repositoriesOver(db: Db, listen?: Listen, driver?: DatabaseDriver): Repositories {
  return {
    runs: new RunRepository(db),
    jobs: new JobRepository(db),
    steps: new StepRepository(db),
    sources: new SourceRepository(db),
    sealedSecrets: new SealedSecretRepository(db),
    sourceChanges: new SourceChangeRepository(db, listen),
    adminTokens: new AdminTokenRepository(db),
    audit: new AuditRepository(db),
    agents: new AgentRepository(db),
    deliveries: new DeliveryRepository(db, driver),
    registrations: new RegistrationRepository(db),
    shards: new ShardRepository(db),
    refTips: new RefTipRepository(db),
    cluster: new ClusterRepository(db),
    clockSource: new ClockSourceRepository(db),
    coordinatorTerm: new CoordinatorTermRepository(db),
    environments: new EnvironmentRepository(db),
    environmentBindings: new EnvironmentBindingRepository(db),
    environmentVariables: new EnvironmentVariableRepository(db),
    holds: new HoldRepository(db),
    secretBackends: new SecretBackendRepository(db),
    keyRotation: new KeyRotationRepository(db),
    uiSessions: new UiSessionRepository(db),
  };
}
