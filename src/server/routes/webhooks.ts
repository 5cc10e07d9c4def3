import type { IncomingMessage } from 'node:http';
import { ROUTE_BODY_CAP_BYTES, type IntakeOutcome, type IntakeRequest, type DeliveryRecord, type RouteKind } from '../../webhooks/index.js';
import { readBody } from '../http/body.js';
import type { HttpRequest, Router } from '../http/router.js';
import type { Logger } from '../logger.js';
import type { OrchestratorMetrics } from '../metrics.js';

export interface WebhookDeps {
  admit(request: IntakeRequest): Promise<IntakeOutcome>;
  /** Called after the 202 is decided: the delivery row is committed, processing may start. */
  accepted(delivery: DeliveryRecord): void;
  metrics: OrchestratorMetrics;
  log: Logger;
}

export interface WebhookRouteDeps {
  /** Through this node's intake (`receiveWebhook`), or an edge worker's forward to a coordinator. */
  receive(request: IntakeRequest, address: () => string): Promise<WebhookAnswer>;
  /** The client's address (trusted proxies honoured), for the rejection warning. */
  addressOf(req: IncomingMessage): string;
}

/** The three webhook routes of DESIGN §5; the checks and their order live in webhooks/intake. */
export function webhookRoutes(router: Router, deps: WebhookRouteDeps): void {
  const handle = (route: RouteKind) => async (req: HttpRequest) => {
    const rawBody = await readBody(req.raw, ROUTE_BODY_CAP_BYTES);
    const request = { route, orgId: req.params.orgId, sourceId: req.params.sourceId, headers: req.headers, rawBody };
    return deps.receive(request, () => deps.addressOf(req.raw));
  };
  router.on('POST', '/webhook/:orgId/github', handle('github'));
  router.on('POST', '/webhook/:orgId/git/:sourceId', handle('git'));
  router.on('POST', '/webhook/:orgId/generic/:sourceId', handle('generic'));
}

export interface WebhookAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** One delivery through the intake, wherever it arrived: this node's routes or an edge worker's. */
export async function receiveWebhook(deps: WebhookDeps, request: IntakeRequest, address: () => string): Promise<WebhookAnswer> {
  const outcome = await deps.admit(request);
  if (outcome.delivery) deps.metrics.webhooksReceived.inc({ source: request.route, event: outcome.delivery.eventType });
  if ((outcome.body as { status?: string }).status === 'duplicate') deps.metrics.dedupHits.inc();
  if (outcome.status === 202 && outcome.delivery) deps.accepted(outcome.delivery);
  if (outcome.status === 401) {
    // The reply's message is a fixed string (webhooks/replies): no signature or secret in it.
    const reason = 'error' in outcome.body ? outcome.body.error.message : 'unauthorized';
    deps.log.warn({ reason, route: request.route, orgId: request.orgId, sourceId: request.sourceId, address: address() }, 'webhook rejected');
  }
  return { status: outcome.status, body: outcome.body, headers: outcome.headers };
}
