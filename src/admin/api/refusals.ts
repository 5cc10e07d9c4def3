import { LockfileUnusable, NothingToRerun, RunNotFound, TriggerRefused } from '../../deliveries/index.js';
import { EnvironmentDeleteBlockedError, EnvironmentNameTakenError, InvalidEnvironmentError } from '../../environments/index.js';
import { RerunRefusedError } from '../../runs/index.js';
import {
  AdminTokenNameTakenError,
  AdminTokenRevokedError,
  InvalidAdminTokenNameError,
  LastAdminTokenError,
  UnknownAdminTokenError,
} from '../../store/index.js';
import { ClusterUnavailableError, RevokeSelfError, UnknownMemberError } from './deps.js';
import { ApiFailure, apiError } from './http.js';

/** The HTTP answer for each way a source can refuse a manual trigger; the code is the reason's name. */
const TRIGGER_STATUS: Record<TriggerRefused['reason'], { status: number; code: string }> = {
  source_not_found: { status: 404, code: 'not_found' },
  not_a_git_source: { status: 400, code: 'not_a_git_source' },
  source_disabled: { status: 409, code: 'source_disabled' },
  invalid_ref: { status: 400, code: 'invalid_ref' },
  ref_not_found: { status: 404, code: 'ref_not_found' },
  github_unavailable: { status: 503, code: 'github_unavailable' },
};

/**
 * The domain speaks of runs, sources, environments, members and admin tokens; the admin API
 * answers in HTTP. Each refusal of a rerun, a manual trigger, a revocation or a token change
 * becomes its status and code here (messages unchanged); anything else is not a refusal and goes
 * on as it is (a 500).
 */
export function asApiFailure(e: unknown): unknown {
  if (e instanceof ApiFailure) return e;
  if (e instanceof RunNotFound) return apiError(404, 'not_found', e.message);
  if (e instanceof NothingToRerun) return apiError(409, 'nothing_to_rerun', e.message);
  if (e instanceof RerunRefusedError) return apiError(409, 'rerun_refused', e.message);
  if (e instanceof LockfileUnusable) return apiError(422, e.reason, e.message);
  if (e instanceof UnknownMemberError) return apiError(404, 'not_found', e.message);
  if (e instanceof RevokeSelfError) return apiError(409, 'revoke_self', e.message);
  // No leader to propose to: this node cannot act for the cluster now, but may in a moment.
  if (e instanceof ClusterUnavailableError) return apiError(503, 'cluster_unavailable', e.message);
  if (e instanceof TriggerRefused) return apiError(TRIGGER_STATUS[e.reason].status, TRIGGER_STATUS[e.reason].code, e.message);
  if (e instanceof InvalidEnvironmentError) return apiError(400, 'invalid_request', e.message);
  if (e instanceof EnvironmentNameTakenError) return apiError(409, 'conflict', e.message);
  if (e instanceof EnvironmentDeleteBlockedError) return apiError(409, 'pending_holds', e.message);
  if (e instanceof InvalidAdminTokenNameError) return apiError(400, 'invalid_request', e.message);
  if (e instanceof AdminTokenNameTakenError) return apiError(409, 'conflict', e.message);
  if (e instanceof UnknownAdminTokenError) return apiError(404, 'not_found', e.message);
  if (e instanceof AdminTokenRevokedError) return apiError(409, 'already_revoked', e.message);
  if (e instanceof LastAdminTokenError) return apiError(409, 'last_admin_token', e.message);
  return e;
}

/** Await a domain call, answering its refusals in HTTP. */
export async function refusalsAsHttp<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (e) {
    throw asApiFailure(e);
  }
}
