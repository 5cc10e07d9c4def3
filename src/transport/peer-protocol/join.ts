/**
 * Joining: plain HTTPS on the cluster port, the one exchange there that needs no client
 * certificate (the joiner has none yet). The joiner first reads the CA certificate at `GET
 * /cluster/ca` without trusting it, checks its fingerprint against the one its join token carries,
 * and then posts its request over TLS that trusts only that CA: the token's secret goes only to a
 * node of the cluster the operator meant. What must stay secret in the answer (the database URL,
 * the master key, the CA key) is sealed to the key the joiner's certificate request names.
 */
import { z } from 'zod';
import { isPeerAddress, PEER_ADDRESS_RULE } from '../../vocabulary/index.js';

export const JOIN_CA_PATH = '/cluster/ca';
export const JOIN_PATH = '/cluster/join';
/** A join request body is small: a token, a node id, an address, a certificate request. */
export const MAX_JOIN_REQUEST_BYTES = 16 * 1024;

const nodeId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a node id is 1–64 letters, digits, dots, dashes or underscores');
const peerAddress = z.string().refine(isPeerAddress, PEER_ADDRESS_RULE);

export const joinRequest = z
  .strictObject({
    token: z.string().min(1).max(200),
    nodeId,
    role: z.enum(['coordinator', 'worker']),
    /**
     * Where the other nodes reach the joiner's cluster port: required of a coordinator. A worker is
     * never dialled (it sits behind NAT and dials the coordinators), so it sends none.
     */
    address: peerAddress.optional(),
    /** PEM certificate signing request for the joiner's node key. */
    csr: z.string().min(1).max(8 * 1024),
  })
  .superRefine((r, ctx) => {
    if (r.role === 'coordinator' && r.address === undefined) ctx.addIssue({ code: 'custom', path: ['address'], message: `a coordinator names the address other nodes reach its cluster port at (${PEER_ADDRESS_RULE})` });
    if (r.role === 'worker' && r.address !== undefined) ctx.addIssue({ code: 'custom', path: ['address'], message: 'a worker is never dialled: it sends no address' });
  });
export type JoinRequest = z.infer<typeof joinRequest>;

export const joinMember = z
  .strictObject({
    node: nodeId,
    raftId: z.number().int().positive(),
    /** The member's cluster port; the empty string for a worker, which is never dialled. */
    address: z.string().refine((a) => a === '' || isPeerAddress(a), PEER_ADDRESS_RULE),
    role: z.enum(['coordinator', 'worker']),
    standing: z.enum(['learner', 'voter', 'worker']),
  })
  .refine((m) => m.address !== '' || m.role === 'worker', { path: ['address'], message: `only a worker has no address (${PEER_ADDRESS_RULE})` });
export type JoinMember = z.infer<typeof joinMember>;

export const sealedBoxBody = z.strictObject({ v: z.literal(1), epk: z.string(), iv: z.string(), tag: z.string(), data: z.string() });

export const joinAccepted = z.strictObject({
  clusterId: z.string(),
  nodeId,
  raftId: z.number().int().positive(),
  certificate: z.string(),
  caCertificate: z.string(),
  /** The members as the cluster knew them when it admitted the joiner (the joiner among them). */
  members: z.array(joinMember),
  /** Sealed to the joiner's key: a JoinSecrets document (coordinators only; workers get none). */
  secrets: sealedBoxBody.optional(),
});
export type JoinAccepted = z.infer<typeof joinAccepted>;

/** What a coordinator joiner must share with the cluster, opened from `JoinAccepted.secrets`. */
export const joinSecrets = z.strictObject({
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//),
  /** The master key, 64 hex characters. */
  secretKey: z.string().regex(/^[0-9a-f]{64}$/),
  /**
   * The previous master key while a rotation is under way (64 hex characters), so a node joining
   * then reads values sealed with either key, as every other node does. Absent otherwise.
   */
  oldSecretKey: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** The cluster CA's private key (PEM), so any coordinator can admit the next joiner. */
  caKey: z.string(),
});
export type JoinSecrets = z.infer<typeof joinSecrets>;
export const JOIN_SECRETS_PURPOSE = 'kici-join-secrets';

/** Every refusal: a code, words for the operator, and for `not_leader` where to ask instead. */
export const joinRefused = z.strictObject({
  error: z.enum(['invalid_request', 'token_refused', 'not_leader', 'already_member', 'unavailable', 'too_many_failures']),
  message: z.string(),
  leader: peerAddress.optional(),
});
export type JoinRefused = z.infer<typeof joinRefused>;
export type JoinRefusalCode = JoinRefused['error'];
