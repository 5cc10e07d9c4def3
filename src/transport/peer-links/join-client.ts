/**
 * The joiner's end of joining: find a member that will admit it, check that the member is of the
 * cluster the token names, and hand over the request. Each known peer is tried in turn; a member
 * that is not the coordinator answers with the coordinator's address, which is tried next. Members
 * that cannot be reached (the cluster may be electing, or starting) are tried again with backoff
 * until the deadline. A refused token is final: trying it elsewhere would not change the answer.
 */
import https from 'node:https';
import { type ClusterCaCertificate, joinTokenNamesCa, type JoinToken, readClusterCaCertificate } from '../../certificates/index.js';
import { type Clock, systemClock } from '../../clock/index.js';
import { JOIN_CA_PATH, JOIN_PATH, joinAccepted, joinRefused, type JoinAccepted, type JoinRequest } from '../peer-protocol/index.js';
import { parsePeerAddress, type PeerAddress } from './dial.js';

export class JoinFailedError extends Error {
  constructor(
    message: string,
    /** `refused`: the cluster said no (final); `unreachable`: no member answered before the deadline. */
    readonly kind: 'refused' | 'unreachable' | 'wrong-cluster',
  ) {
    super(message);
    this.name = 'JoinFailedError';
  }
}

export interface JoinAttempt {
  /** Members' cluster ports, `host:port`. */
  peers: string[];
  token: JoinToken;
  /** The token as the operator gave it (it travels only to a member whose CA the token names). */
  tokenText: string;
  /** The request to send once the member's CA checked out (its cluster id names the certificate request). */
  request(ca: ClusterCaCertificate): Promise<Omit<JoinRequest, 'token'>>;
  /** Give up after this long (default 60 s). */
  deadlineMs?: number;
  clock?: Clock;
  /** Told about each failed try, for the joiner's log. */
  onRetry?(peer: string, why: string): void;
}

const REQUEST_TIMEOUT_MS = 10_000;
/** A not-leader answer names the coordinator; following more than this many means the cluster is electing. */
const MAX_REDIRECTS = 3;

export async function requestJoin(attempt: JoinAttempt): Promise<JoinAccepted> {
  const clock = attempt.clock ?? systemClock;
  const deadline = clock.now() + (attempt.deadlineMs ?? 60_000);
  let delayMs = 100;
  for (;;) {
    const strangers: string[] = [];
    for (const peer of attempt.peers) {
      let target = peer;
      for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
        const outcome = await tryPeer(target, attempt);
        if (outcome.accepted) return outcome.accepted;
        attempt.onRetry?.(target, outcome.why);
        if (outcome.wrongCluster) strangers.push(target);
        if (!outcome.leader || outcome.leader === target) break;
        target = outcome.leader;
      }
    }
    // Every member asked showed another CA: a wrong token or wrong addresses, not a cluster electing.
    if (strangers.length >= attempt.peers.length) {
      throw new JoinFailedError(`${strangers.join(', ')} belong${strangers.length === 1 ? 's' : ''} to another cluster: the CA shown is not the one the join token names`, 'wrong-cluster');
    }
    if (clock.now() + delayMs > deadline) throw new JoinFailedError(`no member of the cluster admitted this node within ${attempt.deadlineMs ?? 60_000} ms (tried ${attempt.peers.join(', ')})`, 'unreachable');
    await new Promise<void>((resolve) => clock.setTimer(delayMs, resolve));
    delayMs = Math.min(delayMs * 2, 2_000);
  }
}

type Outcome = { accepted: JoinAccepted } | { accepted?: undefined; why: string; leader?: string; wrongCluster?: boolean };

async function tryPeer(peer: string, attempt: JoinAttempt): Promise<Outcome> {
  let address: PeerAddress;
  try {
    address = parsePeerAddress(peer);
  } catch (e) {
    return { why: (e as Error).message };
  }
  let caPem: string;
  try {
    // Read without trust: the fingerprint check below is what decides.
    const shown = await call(address, 'GET', JOIN_CA_PATH, undefined, undefined);
    if (shown.status !== 200) return { why: `${JOIN_CA_PATH} answered ${shown.status}: not a node that admits joiners` };
    caPem = shown.text;
  } catch (e) {
    return { why: (e as Error).message };
  }
  let ca: ClusterCaCertificate | undefined;
  try {
    if (joinTokenNamesCa(attempt.token, caPem)) ca = readClusterCaCertificate(caPem);
  } catch {
    ca = undefined;
  }
  if (!ca) return { why: `${peer} belongs to another cluster: its CA is not the one the join token names`, wrongCluster: true };
  let answer: { status: number; text: string };
  try {
    const request = await attempt.request(ca);
    answer = await call(address, 'POST', JOIN_PATH, JSON.stringify({ ...request, token: attempt.tokenText }), ca.certificatePem);
  } catch (e) {
    return { why: (e as Error).message };
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return { why: `${peer} answered ${answer.status} with something that is not JSON` };
  }
  if (answer.status === 200) {
    const accepted = joinAccepted.safeParse(body);
    if (accepted.success) return { accepted: accepted.data };
    return { why: `${peer} answered with a join reply this node cannot read` };
  }
  const refused = joinRefused.safeParse(body);
  if (!refused.success) return { why: `${peer} answered ${answer.status}` };
  const { error, message, leader } = refused.data;
  if (error === 'token_refused' || error === 'invalid_request' || error === 'already_member' || error === 'too_many_failures') {
    throw new JoinFailedError(`${peer} refused the join: ${message}`, 'refused');
  }
  return { why: message, leader };
}

/** One HTTPS exchange; with `caPem` the server must chain to that CA (its name is not checked: node certificates name node ids). */
function call(address: PeerAddress, method: 'GET' | 'POST', path: string, body: string | undefined, caPem: string | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: address.host,
        port: address.port,
        method,
        path,
        minVersion: 'TLSv1.3',
        ...(caPem ? { ca: [caPem], rejectUnauthorized: true, checkServerIdentity: () => undefined } : { rejectUnauthorized: false }),
        headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
        timeout: REQUEST_TIMEOUT_MS,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${address.host}:${address.port} did not answer within ${REQUEST_TIMEOUT_MS} ms`)));
    request.on('error', (e) => reject(new Error(`${address.host}:${address.port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    request.end(body);
  });
}
