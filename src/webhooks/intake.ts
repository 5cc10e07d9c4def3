import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../clock/index.js';
import { systemClock } from '../clock/index.js';
import { contentTypeOf, parseBody, stripSensitiveHeaders } from './body.js';
import { ROUTE_BODY_ENCODINGS } from './body-encodings.js';
import { deliveryIdentity } from './delivery-id.js';
import { eventType } from './event-type.js';
import type { HeaderBag } from './headers.js';
import { headerValue } from './headers.js';
import type { RateLimit } from './rate-limit.js';
import type { IntakeReply } from './replies.js';
import { errorReply, outcomeReply } from './replies.js';
import { verifyBearer, verifyHmacSha256 } from './signature.js';
import type { RouteKind, WebhookSource } from './source.js';
import { authHeaderName, payloadLimitBytes, rateLimitPerMinute, ROUTE_BODY_CAP_BYTES } from './source.js';

export interface IntakeRequest {
  route: RouteKind;
  orgId: string;
  /** From the URL for git and generic routes; GitHub deliveries name their App in a header. */
  sourceId?: string;
  headers: HeaderBag;
  rawBody: Buffer;
}

/** What the event log row holds; the caller writes it, dedup key included, in one transaction. */
export interface DeliveryRecord {
  orgId: string;
  sourceId: string;
  sourceKind: RouteKind;
  sourceName: string;
  deliveryId: string;
  dedupKey: string | null;
  eventType: string;
  action?: string;
  /** `filtered` rows are kept for the event log but start nothing. */
  status: 'received' | 'filtered';
  rawBody: Buffer;
  contentType?: string;
  headers: Record<string, string>;
  payload: unknown;
  payloadHash: string;
  payloadSize: number;
  receivedAt: Date;
}

export interface PriorDelivery {
  deliveryId: string;
  status: string;
}

export interface IntakePorts {
  findSource(orgId: string, route: RouteKind, sourceId: string | undefined): Promise<WebhookSource | null> | WebhookSource | null;
  sourceSecret(source: WebhookSource): Promise<string | null> | string | null;
  /**
   * GitHub sources: the webhook secret a rotation replaced and until when it is still accepted
   * (`source update github:<appId> --webhook-secret … --grace …`). Past `validUntil` it is refused.
   */
  previousSecret?(source: WebhookSource): Promise<{ secret: string; validUntil: number } | null> | { secret: string; validUntil: number } | null;
  rateLimit: RateLimit;
  seenDelivery(dedupKey: string): Promise<PriorDelivery | null> | PriorDelivery | null;
  /** May report that a concurrent delivery with the same dedup key won the race. */
  commitDelivery(record: DeliveryRecord): Promise<void | { duplicateOf: PriorDelivery }> | void | { duplicateOf: PriorDelivery };
  clock?: Clock;
  newDeliveryId?: () => string;
}

export type IntakeOutcome = IntakeReply & { delivery?: DeliveryRecord };

type Authentication = 'ok' | 'rejected' | 'misconfigured';

async function authenticate(source: WebhookSource, request: IntakeRequest, ports: IntakePorts): Promise<Authentication> {
  if (source.kind === 'generic' && source.verification === 'none') return 'ok';
  const secret = await ports.sourceSecret(source);
  if (!secret) return 'misconfigured';
  const header = headerValue(request.headers, authHeaderName(source));
  if (source.kind === 'generic' && source.verification === 'bearer_token') {
    return verifyBearer(secret, header) ? 'ok' : 'rejected';
  }
  const requirePrefix = source.kind !== 'generic';
  if (verifyHmacSha256(secret, request.rawBody, header, { requirePrefix })) return 'ok';
  if (source.kind !== 'github' || !ports.previousSecret || header === undefined) return 'rejected';
  // Within a rotation's grace the secret it replaced still signs (GitHub keeps sending with it
  // until the App's settings are changed); each compare is constant time.
  const previous = await ports.previousSecret(source);
  if (!previous || (ports.clock ?? systemClock).now() >= previous.validUntil) return 'rejected';
  return verifyHmacSha256(previous.secret, request.rawBody, header, { requirePrefix }) ? 'ok' : 'rejected';
}

/** GitHub names the event and the delivery in headers; without either a delivery cannot be judged or deduplicated. */
function missingGithubHeader(request: IntakeRequest): string | null {
  for (const name of ['x-github-event', 'x-github-delivery']) {
    if (!headerValue(request.headers, name)?.trim()) return name;
  }
  return null;
}

const GITHUB_HEADER_NAMES: Record<string, string> = { 'x-github-event': 'X-GitHub-Event', 'x-github-delivery': 'X-GitHub-Delivery' };

function sourceIdOf(request: IntakeRequest): string | undefined {
  if (request.sourceId !== undefined) return request.sourceId;
  return request.route === 'github' ? headerValue(request.headers, 'x-github-hook-installation-target-id') : undefined;
}

async function locateSource(request: IntakeRequest, ports: IntakePorts): Promise<WebhookSource | null> {
  const source = await ports.findSource(request.orgId, request.route, sourceIdOf(request));
  if (!source || source.enabled === false) return null;
  if (source.orgId !== request.orgId || source.kind !== request.route) return null;
  return source;
}

function actionOf(payload: unknown): string | undefined {
  if (payload === null || typeof payload !== 'object') return undefined;
  const action = (payload as Record<string, unknown>).action;
  return typeof action === 'string' ? action : undefined;
}

function isAllowed(source: WebhookSource, type: string): boolean {
  return !source.allowedEvents || source.allowedEvents.length === 0 || source.allowedEvents.includes(type);
}

/**
 * Admits one webhook delivery. The checks run in the order of DESIGN §5 step 2, each with its own
 * answer; the rate limit is counted only after authentication so unsigned floods cannot use up a
 * source's quota. Errors thrown by the ports propagate: the HTTP layer answers them with a 5xx and
 * the sender retries, which is safe because nothing was committed.
 */
export async function admitDelivery(request: IntakeRequest, ports: IntakePorts): Promise<IntakeOutcome> {
  if (request.rawBody.length > ROUTE_BODY_CAP_BYTES) {
    return errorReply(413, 'payload_too_large', 'request body exceeds the webhook route limit');
  }
  const source = await locateSource(request, ports);
  if (!source) return errorReply(404, 'source_not_found', 'no enabled webhook source matches this route');

  const auth = await authenticate(source, request, ports);
  if (auth === 'misconfigured') return errorReply(500, 'source_misconfigured', 'the source has no verification secret');
  if (auth === 'rejected') return errorReply(401, 'unauthorized', 'signature or token is missing or does not match');

  const rate = ports.rateLimit.take(source.id, rateLimitPerMinute(source));
  if (!rate.ok) {
    const retryAfter = String(rate.retryAfterSeconds);
    return errorReply(429, 'rate_limited', 'too many deliveries for this source', { 'Retry-After': retryAfter });
  }
  if (request.rawBody.length > payloadLimitBytes(source)) {
    return errorReply(413, 'payload_too_large', "request body exceeds the source's payload limit");
  }
  if (source.kind === 'github') {
    const missing = missingGithubHeader(request);
    if (missing) return errorReply(400, 'bad_request', `header ${GITHUB_HEADER_NAMES[missing]} is required`);
  }
  const contentType = contentTypeOf(request.headers);
  const parsed = parseBody(request.rawBody, contentType, ROUTE_BODY_ENCODINGS[request.route]);
  if (!parsed.ok) return errorReply(parsed.status, parsed.status === 415 ? 'unsupported_media_type' : 'bad_request', parsed.reason);

  const identity = deliveryIdentity(source.kind, source.id, request.headers, ports.newDeliveryId ?? randomUUID);
  if (identity.dedupKey !== null) {
    const prior = await ports.seenDelivery(identity.dedupKey);
    if (prior) return duplicateReply(prior);
  }
  const type = eventType(source, request.headers, parsed.payload);
  const record: DeliveryRecord = {
    orgId: source.orgId,
    sourceId: source.id,
    sourceKind: source.kind,
    sourceName: source.name,
    deliveryId: identity.deliveryId,
    dedupKey: identity.dedupKey,
    eventType: type,
    action: actionOf(parsed.payload),
    status: isAllowed(source, type) ? 'received' : 'filtered',
    rawBody: request.rawBody,
    contentType,
    headers: stripSensitiveHeaders(request.headers, [authHeaderName(source)]),
    payload: parsed.payload,
    payloadHash: createHash('sha256').update(request.rawBody).digest('hex'),
    payloadSize: request.rawBody.length,
    receivedAt: new Date((ports.clock ?? systemClock).now()),
  };
  const committed = await ports.commitDelivery(record);
  if (committed && 'duplicateOf' in committed) return duplicateReply(committed.duplicateOf);
  const status = record.status === 'received' ? 'accepted' : 'filtered';
  return { ...outcomeReply(record.status === 'received' ? 202 : 200, { deliveryId: record.deliveryId, status }), delivery: record };
}

function duplicateReply(prior: PriorDelivery): IntakeReply {
  return outcomeReply(200, { deliveryId: prior.deliveryId, status: 'duplicate', firstStatus: prior.status });
}
