/**
 * Failed peer authentications at the peer port: each one is counted against its address
 * (FailedAuthLimit, shared with the node's other doors when the caller passes the node's own),
 * logged in one warn line and reported as a `refused` event. Past its address's limit a refusal
 * says only 4108, not which check failed. Only failures are counted and refused: a peer with a
 * good certificate and an honest hello gets in from any address.
 */
import { type FailedAuthLimit, normaliseAddress } from '../../auth-guard/index.js';
import { PeerCloseCode } from '../peer-protocol/index.js';
import type { PeerLinksEvents } from './events.js';
import type { PeerRefusal } from './judgement.js';
import type { PeerLogger } from './logger.js';

/** Socket faults that are the network's, not a failed authentication: logged at debug, not counted. */
const NETWORK_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ERR_SSL_TLSV1_ALERT_USER_CANCELLED']);

export interface TlsFailure {
  address: string | undefined;
  code: string;
  /** Set when node refused the client certificate after OpenSSL's handshake (the CA did not sign it). */
  authorizationError: string | undefined;
}

export class PeerAdmission {
  constructor(
    private readonly failures: FailedAuthLimit,
    private readonly log: PeerLogger,
    private readonly events: PeerLinksEvents,
  ) {}

  /** A handshake that failed in TLS: no close code to send, but counted like any other refusal. */
  tlsFailed(failure: TlsFailure): void {
    const address = normaliseAddress(failure.address ?? 'unknown');
    const tlsError = failure.authorizationError ?? failure.code;
    if (!failure.authorizationError && NETWORK_ERRORS.has(failure.code)) {
      this.log.debug({ address, tlsError }, 'peer TLS handshake broke off');
      return;
    }
    const reason = /PEER_DID_NOT_RETURN_A_CERTIFICATE|CERTIFICATE_REQUIRED/i.test(tlsError) ? 'no-certificate' : 'tls';
    const verdict = this.failures.fail(address);
    this.log.warn({ address, reason, tlsError, limited: verdict.limited }, 'peer refused');
    this.events.emit('refused', { direction: 'inbound', address, reason, message: `TLS handshake refused (${tlsError})`, limited: verdict.limited });
  }

  isLimited(address: string): boolean {
    return this.failures.isLimited(address);
  }

  /** A join request refused (bad token, bad request): counted like any failed authentication. */
  joinRefused(address: string, error: string): { limited: boolean } {
    const verdict = this.failures.fail(address);
    this.log.warn({ address, reason: 'join-refused', error, limited: verdict.limited }, 'peer refused');
    this.events.emit('refused', { direction: 'inbound', address, reason: 'join-refused', message: `join refused (${error})`, limited: verdict.limited });
    return verdict;
  }

  /** Refuse an inbound peer after TLS: count, log, report, and close with the refusal's code (or 4108). */
  refuse(address: string, refusal: PeerRefusal, nodeId: string | undefined, close: (code: number, reason: string) => void): void {
    const verdict = this.failures.fail(address);
    const code = verdict.limited ? PeerCloseCode.tooManyFailures : (refusal.code ?? PeerCloseCode.certificateRefused);
    this.log.warn({ address, peer: nodeId, reason: refusal.reason, code, limited: verdict.limited, why: refusal.message }, 'peer refused');
    this.events.emit('refused', { direction: 'inbound', address, nodeId, reason: refusal.reason, code, message: refusal.message, limited: verdict.limited });
    close(code, verdict.limited ? 'too many failed authentications' : refusal.message);
  }
}
