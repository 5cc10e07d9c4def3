/**
 * The table groups, one repository each, over one query builder: the store's own, or a
 * transaction's (so repositories built over a transaction all write inside it).
 */
import { AdminTokenRepository } from './admin-tokens.js';
import { AgentRepository } from './agents.js';
import { ClusterRepository } from './cluster.js';
import type { Db } from './database.js';
import { DeliveryRepository } from './deliveries.js';
import { JobRepository } from './jobs.js';
import { RefTipRepository } from './ref-tips.js';
import { RegistrationRepository } from './registrations.js';
import { RunRepository } from './runs.js';
import { SealedSecretRepository } from './sealed-secrets.js';
import { ShardRepository } from './shards.js';
import { SourceRepository } from './sources.js';
import { StepRepository } from './steps.js';

export interface Repositories {
  readonly runs: RunRepository;
  readonly jobs: JobRepository;
  readonly steps: StepRepository;
  readonly sources: SourceRepository;
  readonly sealedSecrets: SealedSecretRepository;
  readonly adminTokens: AdminTokenRepository;
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
}

export function repositoriesOver(db: Db): Repositories {
  return {
    runs: new RunRepository(db),
    jobs: new JobRepository(db),
    steps: new StepRepository(db),
    sources: new SourceRepository(db),
    sealedSecrets: new SealedSecretRepository(db),
    adminTokens: new AdminTokenRepository(db),
    agents: new AgentRepository(db),
    deliveries: new DeliveryRepository(db),
    registrations: new RegistrationRepository(db),
    shards: new ShardRepository(db),
    refTips: new RefTipRepository(db),
    cluster: new ClusterRepository(db),
  };
}
