export { AdminApi, ApiError } from './cli/api-client.js';
export { runAdmin, adminProgram } from './cli/main.js';
export { installSourceHook } from './cli/install-hook.js';
export { logLinePrefix, stepNumber } from './cli/step-number.js';
export { ADMIN_TOKEN_FILE, ORCHESTRATOR_URL_FILE, defaultDataDir, readLocalOrchestrator } from './local-orchestrator.js';
export { adminApiRoutes, checkAdmin, VIEWER_REFUSAL, viewerMayCall, ApiFailure, apiError, type AdminCaller, type AdminCheck, type AdminDeps, type RouteTable } from './api/index.js';
export type { CancelReply, ClusterAdmin, ClusterMemberView, ClusterStatusView, ConnectedAgent, RerunReply, RevokedMember, TriggerReply } from './api/index.js';
export { ClusterUnavailableError, RevokeSelfError, UnknownMemberError } from './api/index.js';
// The web view's live log reads step logs the way the NDJSON stream does.
export { StepLogCursor, type StepLogLine } from './api/index.js';
