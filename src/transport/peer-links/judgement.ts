/**
 * Judging a peer: its certificate (beyond what TLS checked: the revoked list, and that it is a
 * node certificate of this cluster) and its hello (which must agree with the certificate). Pure
 * functions: the links apply the verdicts, count failures and log.
 */
import { type CertificateInput, type NodeCertificateRefusal, type NodeIdentity, verifyNodeCertificate } from '../../certificates/index.js';
import { type HelloFrame, MAX_PEER_PROTOCOL_VERSION, MIN_PEER_PROTOCOL_VERSION, PeerCloseCode } from '../peer-protocol/index.js';

/**
 * Why a peer was refused. `tls` and `no-certificate` happen in the TLS handshake (no close code:
 * the peer gets a TLS alert); the certificate refusals are `verifyNodeCertificate`'s; the rest are
 * the hello's, and `wrong-peer` is a dialler's: the server is not the node it dialled.
 * `judgement-failed` is this node's fault (the revoked list could not be read): it fails closed.
 */
export type PeerRefusalReason =
  | 'tls'
  | 'no-certificate'
  | NodeCertificateRefusal
  | 'wrong-cluster'
  | 'hello-mismatch'
  | 'unsupported-version'
  | 'hello-timeout'
  | 'invalid-hello'
  | 'wrong-peer'
  | 'judgement-failed'
  | 'join-refused';

export interface PeerRefusal {
  reason: PeerRefusalReason;
  /** The close code the refusal is sent with; undefined when it happens during TLS. */
  code: number | undefined;
  /** What was wrong, in words; never key material or frame contents. */
  message: string;
}

export type CertificateJudgement = { ok: true; identity: NodeIdentity } | { ok: false; refusal: PeerRefusal };

export interface CertificateJudgementContext {
  caCertificatePem: string;
  now: Date;
  revokedSerials: Iterable<string>;
}

/** The peer's certificate against the cluster CA and the revoked list at `now`. */
export function judgeCertificate(certificate: CertificateInput, context: CertificateJudgementContext): CertificateJudgement {
  const verdict = verifyNodeCertificate(certificate, context.caCertificatePem, { now: context.now, revokedSerials: context.revokedSerials });
  if (verdict.ok) return verdict;
  const code = verdict.reason === 'revoked' ? PeerCloseCode.revoked : PeerCloseCode.certificateRefused;
  return { ok: false, refusal: { reason: verdict.reason, code, message: verdict.message } };
}

export interface HelloJudgementContext {
  /** Who the peer's certificate says it is (already judged). */
  certificate: NodeIdentity;
  /** This node's cluster and id. */
  clusterId: string;
  selfNodeId: string;
}

/** The peer's hello against its certificate and this node; undefined when it agrees. */
export function judgeHello(hello: HelloFrame, context: HelloJudgementContext): PeerRefusal | undefined {
  if (hello.protocolVersion < MIN_PEER_PROTOCOL_VERSION || hello.protocolVersion > MAX_PEER_PROTOCOL_VERSION) {
    return {
      reason: 'unsupported-version',
      code: PeerCloseCode.unsupportedVersion,
      message: `protocol version ${hello.protocolVersion} is outside ${MIN_PEER_PROTOCOL_VERSION}..${MAX_PEER_PROTOCOL_VERSION}`,
    };
  }
  if (hello.clusterId !== context.clusterId) {
    return { reason: 'wrong-cluster', code: PeerCloseCode.wrongCluster, message: `the hello names cluster ${hello.clusterId}, this is cluster ${context.clusterId}` };
  }
  const { certificate } = context;
  if (hello.nodeId !== certificate.nodeId || hello.role !== certificate.role || hello.clusterId !== certificate.clusterId) {
    return {
      reason: 'hello-mismatch',
      code: PeerCloseCode.helloMismatch,
      message: `the hello names ${hello.nodeId} (${hello.role}), the certificate ${certificate.nodeId} (${certificate.role})`,
    };
  }
  if (hello.nodeId === context.selfNodeId) {
    return { reason: 'hello-mismatch', code: PeerCloseCode.helloMismatch, message: `node ${hello.nodeId} is this node; a node does not link to itself` };
  }
  return undefined;
}
