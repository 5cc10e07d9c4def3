/**
 * An edge worker's webhooks: it has no database to record a delivery in, so each goes over the
 * peer link to a coordinator, which runs it through its intake and answers as if it had been sent
 * there. A coordinator that does not answer is skipped for the next; while none is reachable the
 * sender is told 503 with Retry-After and nothing is recorded (kici's git hook keeps the push in its
 * spool and sends it again; a GitHub delivery is redelivered from the App's settings or
 * a reconcile).
 * A delivery answered twice (the first answer lost on a dropped link) is recorded once: the
 * intake deduplicates by delivery id.
 */
import { DEFAULT_MAX_FRAME_BYTES, forwardedWebhookBody, type PeerLinks, type WorkerLinkKinds } from '../../transport/index.js';
import type { IntakeRequest } from '../../webhooks/index.js';
import type { Logger } from '../logger.js';
import type { WebhookAnswer } from '../routes/webhooks.js';

export interface WebhookForwardParts {
  links: PeerLinks;
  kinds: WorkerLinkKinds;
  /** The coordinators reachable now. */
  coordinators(): string[];
  log: Pick<Logger, 'warn'>;
}

const FORWARD_TIMEOUT_MS = 30_000;
const RETRY_AFTER_SECONDS = '5';
/** Base64 grows a body by a third; what is left of a peer frame for headers and the envelope. */
const MAX_FORWARDED_BYTES = Math.floor((DEFAULT_MAX_FRAME_BYTES - 256 * 1024) * 0.75);

export function forwardWebhooks(p: WebhookForwardParts): (request: IntakeRequest, address: () => string) => Promise<WebhookAnswer> {
  let next = 0;
  return async (request) => {
    if (request.rawBody.length > MAX_FORWARDED_BYTES) {
      return refusal(413, 'payload_too_large', `an edge worker forwards webhooks of at most ${MAX_FORWARDED_BYTES} bytes; send this one to a coordinator`);
    }
    const parsed = forwardedWebhookBody.safeParse({ route: request.route, orgId: request.orgId, sourceId: request.sourceId, headers: headersOf(request), body: request.rawBody.toString('base64') });
    // Refused here, not by every coordinator in turn: a sender told 503 would send it again forever.
    if (!parsed.success) return refusal(400, 'invalid_request', 'this webhook cannot be forwarded: a header has too many values or one too long');
    const body = parsed.data;
    const reachable = p.coordinators();
    for (let i = 0; i < reachable.length; i++) {
      const node = reachable[(next + i) % reachable.length]!;
      try {
        const answer = await p.links.request(node, p.kinds.webhook, body, { timeoutMs: FORWARD_TIMEOUT_MS });
        next = (next + i + 1) % reachable.length;
        return answer;
      } catch (e) {
        p.log.warn({ coordinator: node, route: request.route, err: (e as Error).message }, 'webhook not forwarded to this coordinator; trying the next');
      }
    }
    return refusal(503, 'no_coordinator', 'this edge worker reaches no coordinator right now; send the webhook again later', { 'retry-after': RETRY_AFTER_SECONDS });
  };
}

function refusal(status: number, code: string, message: string, headers?: Record<string, string>): WebhookAnswer {
  return { status, body: { error: { code, message } }, ...(headers && { headers }) };
}

/** The headers as the peer schema takes them (defined values only). */
function headersOf(request: IntakeRequest): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) out[name] = typeof value === 'string' ? value : [...value];
  }
  return out;
}
