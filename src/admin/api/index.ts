import { adminTokenRoutes } from './admin-tokens.js';
import { agentTokenRoutes } from './agent-tokens.js';
import { agentRoutes } from './agents.js';
import { auditRoutes } from './audit.js';
import { backendRoutes } from './backends.js';
import { clusterRoutes } from './cluster.js';
import type { AdminDeps } from './deps.js';
import { environmentVariableRoutes } from './environment-variables.js';
import { environmentRoutes } from './environments.js';
import { eventLogRoutes } from './event-log.js';
import { masterKeyRoutes } from './master-key.js';
import type { RouteTable } from './http.js';
import { peerRoutes } from './peers.js';
import { runRoutes } from './runs.js';
import { retentionRoutes } from './retention.js';
import { storageRoutes } from './storage.js';
import { secretRoutes } from './secrets.js';
import { sourceChangeRoutes } from './source-changes.js';
import { sourceReconcileRoutes } from './source-reconcile.js';
import { sourceRoutes } from './sources.js';

export { checkAdmin, type AdminCheck } from './auth.js';
export { StepLogCursor, type StepLogLine } from './runs.js';
export { VIEWER_REFUSAL, viewerMayCall } from './viewer-routes.js';
export { type AdminCaller, ApiFailure, apiError, type ApiHandler, type ApiReply, type ApiRequest, type RouteTable } from './http.js';
export { clusterNodeId, FAULT_DIRECTIONS, faultRequest, revokeAllRequest, type RevokeFailure } from './cluster.js';
export { DEFAULT_JOIN_ROLE, JOIN_TOKEN_EXPIRY_HOURS, joinTokenId, joinTokenRequest } from './peers.js';
export type { AdminDeps, PurgeReply, PurgeRequest, CancelReply, ClusterAdmin, ClusterMemberView, ClusterStatusView, ConnectedAgent, ReconcileReply, RerunReply, RevokedMember, TriggerReply } from './deps.js';
export { ClusterUnavailableError, RevokeSelfError, UnknownMemberError } from './deps.js';

/** Every admin API route, relative to `/api/v1`. */
export function adminApiRoutes(deps: AdminDeps): RouteTable {
  return [...sourceRoutes(deps), ...agentTokenRoutes(deps), ...agentRoutes(deps), ...runRoutes(deps), ...retentionRoutes(deps), ...storageRoutes(deps), ...eventLogRoutes(deps), ...sourceChangeRoutes(deps), ...sourceReconcileRoutes(deps), ...environmentRoutes(deps), ...environmentVariableRoutes(deps), ...peerRoutes(deps), ...clusterRoutes(deps), ...adminTokenRoutes(deps), ...auditRoutes(deps), ...secretRoutes(deps), ...backendRoutes(deps), ...masterKeyRoutes(deps)];
}
