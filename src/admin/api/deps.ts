import type { Clock } from '../../clock/index.js';
import type { HoldVoteRequest, HoldVoteResult } from '../../runs/index.js';
import type { RotationReport, SecretBackends } from '../../secrets/index.js';
import type { LabelMatcher } from '../../workflows/index.js';
import type { AuditActor, NewAuditEvent, Source, StepLogStore, Store } from '../../store/index.js';
import type { DeliveryStatus } from '../../vocabulary/index.js';
import type { StorageMigrationResult, StorageTarget } from '../../store/index.js';

/** What the admin API needs from the rest of the orchestrator, handed in by the composition root. */
export interface AdminDeps {
  store: Store;
  secrets: {
    /** `audit` (never holding the value) commits with the value (secrets API: `secret.set`). */
    put(orgId: string, scope: string, name: string, value: string, audit?: NewAuditEvent): Promise<void>;
    get(orgId: string, scope: string, name: string): Promise<string | null>;
  };
  logs: StepLogStore;
  /** Secret backends besides the database (Vault): `/backends` (absent in tests that build the API alone). */
  secretBackends?: SecretBackends;
  /** Re-seal what another master key sealed with the current one (`/admin/rotate-key`; absent in tests that build the API alone). */
  rotateMasterKey?(by: AuditActor, options: { batchSize?: number }): Promise<RotationReport>;
  /** Close the live connections of agents using a revoked token, on every node of the cluster it reaches; returns how many. */
  disconnectToken(tokenId: string): number | Promise<number>;
  sourcesChanged?(): void;
  /** Time for what the API stamps and compares (a rotated webhook secret's grace); absent: the machine's clock. */
  clock?: Clock;
  /**
   * Ask a run's actor to cancel it: graceful (SIGTERM, the job's grace period, SIGKILL) or, with
   * `force`, at once. The composition root implements it over the actor system.
   */
  cancelRun(runId: string, force: boolean): Promise<CancelReply>;
  /**
   * A reviewer's approve or reject of a run's held jobs, asked of the run's actor (the only writer
   * of its holds). The answer's `refused` and `unanswered` outcomes are the API's 404, 409 and 503.
   */
  voteOnHold(runId: string, request: HoldVoteRequest): Promise<HoldVoteResult>;
  /** Create and start a new attempt of a finished run; refusals are domain errors the API maps (`refusals.ts`: 404, 409). */
  rerunRun(runId: string, options: { failedOnly: boolean }): Promise<RerunReply>;
  /**
   * Start the workflows a push of `ref` would run (every push-triggered one for a bare commit);
   * refusals are domain errors the API maps (`refusals.ts`: 400, 404, 409, 422).
   */
  triggerRuns(input: { sourceId: string; ref: string; repo?: string }): Promise<TriggerReply>;
  /**
   * Fetch a git source's mirror and run the branches whose tip moved without a delivery (the
   * route checked it is an enabled git source); resolves once those deliveries are processed.
   */
  reconcileSource(source: Source): Promise<ReconcileReply>;
  /**
   * Remove, at once, webhook bodies and finished runs' step logs older than the request says
   * (`runs purge`), batch after batch until none is left (absent in tests that build the API alone).
   */
  purgeRetention?(request: PurgeRequest): Promise<PurgeReply>;
  /** Copy this node's object storage to another backend (`storage migrate`; absent in tests that build the API alone). */
  migrateStorage?(target: StorageTarget): Promise<StorageMigrationResult>;
  /**
   * An environment's rules changed: its concurrency group reads them again now (a glob environment's
   * groups, named after the jobs' own names, catch up at their next periodic rebuild).
   */
  environmentChanged?(orgId: string, name: string): void;
  /** Why a job with these labels still waits for an agent, as the agents connected here see it. */
  waitReason(runsOn: readonly LabelMatcher[]): string;
  /** The agents connected to this node. */
  connectedAgents(): ConnectedAgent[];
  /** Agents other nodes hold, as their slot reports say (absent: a node alone). */
  agentsElsewhere?(): ConnectedAgent[];
  /** Resolves when the run is terminal or `ms` passed; lets log following end with the run. */
  runIsTerminal(runId: string): Promise<boolean>;
  /** This node's view of the cluster, and revocations (absent in tests that build the API alone). */
  cluster?: ClusterAdmin;
}

/** The cluster as the admin API sees it; the composition root implements it over the node's Raft and links. */
export interface ClusterAdmin {
  status(): Promise<ClusterStatusView>;
  /**
   * Revoke a member for good: recorded in the database, its certificates revoked in the replicated
   * state (every member cuts its links at once) and its Raft vote removed. Throws UnknownMemberError,
   * RevokeSelfError, or ClusterUnavailableError (no leader to propose to).
   */
  revoke(nodeId: string): Promise<RevokedMember>;
  /** The fault hook of this node's peer links; present only when KICI_FAULT_INJECTION is allowed. */
  faults?: {
    cut(peer: string, direction: 'inbound' | 'outbound' | 'both'): void;
    heal(peer?: string): void;
  };
}

export interface RevokedMember {
  nodeId: string;
  /** False when it was revoked before. */
  newlyRevoked: boolean;
  serials: string[];
}

export interface ClusterMemberView {
  node: string;
  raftId: number;
  address: string;
  role: 'coordinator' | 'worker';
  standing: 'learner' | 'voter' | 'worker';
  /** This node has a live peer link to it (always true for itself). */
  connected: boolean;
  self: boolean;
  leader: boolean;
  /** Known on the leader only: the highest log index replicated to it, and how far it is behind. */
  matchIndex: number | null;
  lag: number | null;
  /** How many of the 256 shards the replicated map gives it (coordinators own shards, workers none). */
  shards: number;
  certificate: { serial: string; notAfter: string } | null;
  /**
   * An edge worker's last report to this node: its agents and what its outbox holds for the
   * coordinators (reports it could not deliver yet). Null for coordinators and silent workers.
   */
  held: { agents: number; outboxDepth: number; outboxBytes: number; reportedAt: string } | null;
}

export interface ClusterStatusView {
  clusterId: string;
  nodeId: string;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  leader: { node: string; address: string } | null;
  /** False when this node is out of quorum (its /ready answers 503), with the reason. */
  ready: boolean;
  reason: string | null;
  members: ClusterMemberView[];
}

export class UnknownMemberError extends Error {
  constructor(readonly nodeId: string) {
    super(`no member ${nodeId} in the cluster`);
    this.name = 'UnknownMemberError';
  }
}

export class RevokeSelfError extends Error {
  constructor(readonly nodeId: string) {
    super(`node ${nodeId} is the node answering this request; revoke it through another member`);
    this.name = 'RevokeSelfError';
  }
}

export class ClusterUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterUnavailableError';
  }
}

export interface ConnectedAgent {
  id: string;
  labels: string[];
  slotsInUse: number;
  maxConcurrency: number;
  version: string | null;
  hostname: string | null;
  node: string;
  connectedAt: string | null;
  /** The agent's last frame, ping or pong, as its node saw it (null when another node holds it). */
  lastSeenAt: string | null;
}

/** `accepted: false` when the run's actor refused (the run finished meanwhile, or another node owns it). */
export interface CancelReply {
  accepted: boolean;
  reason?: string;
}

export interface RerunReply {
  runId: string;
  attempt: number;
  rerun: string[];
  carried: string[];
}

export interface TriggerReply {
  sourceId: string;
  sha: string;
  branch: string | null;
  runs: { id: string; workflow: string }[];
}

export interface PurgeRequest {
  olderThanMs: number;
  payloads: boolean;
  logs: boolean;
}

/** What a purge removed, and the instant it removed things from before. */
export interface PurgeReply {
  payloads: number;
  logRuns: number;
  logBytes: number;
  before: Date;
}

/** What a reconcile did: whether it only took the first baseline, and each moved branch's delivery. */
export interface ReconcileReply {
  sourceId: string;
  baseline: boolean;
  refs: { ref: string; before: string; sha: string; deliveryId: string; status: DeliveryStatus; runs: string[]; note?: string }[];
}
