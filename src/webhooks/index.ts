/**
 * Webhook intake: the checks every delivery passes (DESIGN §5 step 2), signatures, delivery ids,
 * event types, body parsing, rate limits, normalisation into trigger events, and the git hook.
 * No HTTP framework and no database here: the server room adapts requests, the store backs the ports.
 */
export type { HeaderBag } from './headers.js';
export { headerValue } from './headers.js';
export type { HmacOptions } from './signature.js';
export { signBody, verifyBearer, verifyHmacSha256 } from './signature.js';
export type { DeliveryIdentity } from './delivery-id.js';
export { deliveryIdentity } from './delivery-id.js';
export { eventType, valueAtPath } from './event-type.js';
export type { ParsedBody } from './body.js';
export { contentTypeOf, parseBody, stripSensitiveHeaders } from './body.js';
export type { BodyEncoding } from './body-encodings.js';
export { ROUTE_BODY_ENCODINGS } from './body-encodings.js';
export type { RateDecision, RateLimit } from './rate-limit.js';
export { SlidingWindowRateLimit } from './rate-limit.js';
export type { RouteKind, Verification, WebhookSource } from './source.js';
export { authHeaderName, payloadLimitBytes, rateLimitPerMinute, ROUTE_BODY_CAP_BYTES } from './source.js';
export type { DeliveryStatus, ErrorBody, IntakeReply, OutcomeBody } from './replies.js';
export type { DeliveryRecord, IntakeOutcome, IntakePorts, IntakeRequest, PriorDelivery } from './intake.js';
export { admitDelivery } from './intake.js';
export type { GitPushPayload, NormalisedEvent, Normalised, NormaliseInput } from './normalise.js';
export { GITHUB_EVENTS, PULL_REQUEST_ACTIONS } from './github-normalise.js';
export { gitPushPayload, normaliseDelivery } from './normalise.js';
export type { HookTarget } from './git-hook.js';
export { HOOK_MARKER, postReceiveHookScript, webhookUrl } from './git-hook.js';
export type { InstalledHook } from './hook-install.js';
export { gitDir, installedHook, installHook } from './hook-install.js';
export type { SpooledDelivery } from './hook-spool.js';
export { FLUSH_FLAG, SPOOL_DIR, spooledDeliveries } from './hook-spool.js';
