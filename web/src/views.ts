/**
 * The JSON the admin API answers (src/admin/api/*.ts), as far as the pages read it. Fields the
 * lead adds in this change (`needs`, `baseName`, `node`, `lastSeenAt`, …) are optional so the
 * pages still work against a server without them.
 */

export interface Session {
  name: string;
  role: 'admin' | 'viewer' | string;
  csrf: string;
  expiresAt: string;
}

export interface RunView {
  id: string;
  orgId?: string;
  sourceId: string | null;
  /** The source's name as the event recorded it (absent on old runs). */
  sourceName?: string | null;
  deliveryId: string | null;
  workflow: string;
  status: string;
  attempt: number;
  ref: string | null;
  branch: string | null;
  sha: string | null;
  error: string | null;
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  logsRemovedAt?: string | null;
  /** What started it, where the server says so (`push`, `manual`, `rerun`…). */
  trigger?: string | null;
  parentRunId?: string | null;
}

export interface StepView {
  index: number;
  name: string;
  status: string;
  exitCode: number | null;
  error: string | null;
}

export interface JobView {
  id: string;
  name: string;
  status: string;
  agentId: string | null;
  error: string | null;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  steps: StepView[];
  waiting?: string;
  baseName?: string | null;
  matrix?: Record<string, unknown> | null;
  needs?: string[] | null;
  node?: string | null;
  dispatchedAt?: string | null;
  createdAt?: string | null;
}

export interface HoldView {
  id: string;
  job: string;
  gate: string;
  status: string;
  reviewers: string[];
  remaining: string[];
  votes: { reviewer: string; verdict: string; reason: string | null; at: string | null }[];
  reason: string | null;
  createdAt: string | null;
  expiresAt: string | null;
  decidedAt: string | null;
  decidedBy: string | null;
}

export interface RunDetailView extends RunView {
  jobs: JobView[];
  holds: HoldView[];
}

export interface AgentView {
  id: string;
  labels: string[];
  slotsInUse: number;
  maxConcurrency: number;
  version: string | null;
  hostname: string | null;
  node: string;
  connectedAt: string | null;
  lastSeenAt?: string | null;
}

export interface DeliveryView {
  id: string;
  orgId: string;
  sourceId: string | null;
  sourceKind: string | null;
  eventType: string | null;
  action: string | null;
  status: string;
  matchedCount: number | null;
  error: string | null;
  trace: unknown;
  payloadSize: number | null;
  receivedAt: string | null;
  processedAt: string | null;
  attempts?: number;
  retryAfter?: string | null;
  payloadRemovedAt?: string | null;
}

export interface ClusterMemberView {
  node: string;
  raftId: number;
  address: string;
  role: string;
  standing: string;
  connected: boolean;
  self: boolean;
  leader: boolean;
  matchIndex: number | null;
  lag: number | null;
  shards: number;
  certificate: { serial: string; notAfter: string } | null;
  held: { agents: number; outboxDepth: number; outboxBytes: number; reportedAt: string } | null;
}

export interface ClusterStatusView {
  clusterId: string;
  nodeId: string;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  leader: { node: string; address: string } | null;
  ready: boolean;
  reason: string | null;
  members: ClusterMemberView[];
}

/** One line of a live log feed (`event: line`). */
export interface LogLine {
  jobId?: string;
  job: string;
  step: number;
  stepName?: string | null;
  text: string;
}
