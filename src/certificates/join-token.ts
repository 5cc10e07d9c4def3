/**
 * Join tokens: what an operator hands a new node so it can join the cluster.
 *
 *     kici1.<ca fingerprint: 64 hex>.<id: 16 hex>.<secret: 43 base64url>
 *
 * - `kici1` names the format, so a later one can be told apart.
 * - The CA fingerprint (SHA-256 of the cluster CA's DER certificate) lets the joiner check it
 *   reached the right cluster before it trusts anything the other side says, as k3s tokens do.
 * - The id is how the cluster finds the token's record; it is not secret.
 * - The secret is 32 random bytes. The cluster keeps only its SHA-256 (`secretHash`), along with
 *   the role the token grants and when it expires, and uses a token once.
 *
 * The parts are joined by dots because none of their alphabets contains one. Parsing never
 * quotes any part of the token in an error, and a parsed token keeps its secret to itself.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import { z } from 'zod';
import { type CertificateFingerprint, certificateFingerprint, type CertificateInput, FINGERPRINT_PATTERN } from './certificate.js';
import { JoinTokenFormatError } from './errors.js';
import type { NodeRole } from './identity.js';
import { checked, instantSchema, roleSchema } from './parameters.js';
import { drawBytes, type RandomBytes, systemRandom } from './random.js';

export const JOIN_TOKEN_VERSION = 'kici1';
const ID_BYTES = 8;
const SECRET_BYTES = 32;
const SECRET_CHARACTERS = Math.ceil((SECRET_BYTES * 4) / 3); // unpadded base64url: 43

/** What issuing a token yields: the token to show once, and the record the cluster stores (everything else). */
export interface IssuedJoinToken {
  /** The whole token. Print it once for the operator; never store or log it. */
  token: string;
  id: string;
  /** SHA-256 of the secret, 64 lowercase hex: the only trace of the secret the cluster keeps. */
  secretHash: string;
  caFingerprint: CertificateFingerprint;
  role: NodeRole;
  expiresAt: Date;
}

export interface CreateJoinToken {
  caFingerprint: CertificateFingerprint;
  role: NodeRole;
  expiresAt: Date;
  random?: RandomBytes;
}

const createSchema = z.object({
  caFingerprint: z.string().regex(FINGERPRINT_PATTERN, 'a CA fingerprint is sha256: and 64 lowercase hex digits'),
  role: roleSchema,
  expiresAt: instantSchema,
});

export function createJoinToken(params: CreateJoinToken): IssuedJoinToken {
  const { caFingerprint, role, expiresAt } = checked(createSchema, params, 'createJoinToken');
  const random = params.random ?? systemRandom;
  const id = drawBytes(random, ID_BYTES).toString('hex');
  const secret = drawBytes(random, SECRET_BYTES);
  const token = [JOIN_TOKEN_VERSION, caFingerprint.slice('sha256:'.length), id, secret.toString('base64url')].join('.');
  return { token, id, secretHash: hashSecret(secret), caFingerprint: caFingerprint as CertificateFingerprint, role, expiresAt };
}

function hashSecret(secret: Buffer): string {
  return createHash('sha256').update(secret).digest('hex');
}

const REDACTED_SECRET = '[secret]';

/** A parsed join token. Its secret is held privately: logging or serialising the token shows no secret. */
export class JoinToken {
  readonly #secret: Buffer;

  /** @internal use `parseJoinToken` */
  constructor(
    readonly caFingerprint: CertificateFingerprint,
    readonly id: string,
    secret: Buffer,
  ) {
    this.#secret = secret;
  }

  /** Does the secret hash to `storedHash`? Constant-time in the hash's contents. */
  matchesSecretHash(storedHash: string): boolean {
    if (typeof storedHash !== 'string' || !/^[0-9a-f]{64}$/.test(storedHash)) {
      throw new TypeError('a stored join-token secret hash is 64 lowercase hex digits');
    }
    return timingSafeEqual(Buffer.from(hashSecret(this.#secret), 'hex'), Buffer.from(storedHash, 'hex'));
  }

  toJSON(): { caFingerprint: string; id: string; secret: string } {
    return { caFingerprint: this.caFingerprint, id: this.id, secret: REDACTED_SECRET };
  }

  toString(): string {
    return `${JOIN_TOKEN_VERSION}.${this.caFingerprint.slice('sha256:'.length)}.${this.id}.${REDACTED_SECRET}`;
  }

  [inspect.custom](): string {
    return `JoinToken { id: ${this.id}, caFingerprint: ${this.caFingerprint}, secret: ${REDACTED_SECRET} }`;
  }
}

/** Read a join token as an operator pasted it (surrounding whitespace is dropped); each malformed part has its own error. */
export function parseJoinToken(text: string): JoinToken {
  if (typeof text !== 'string') throw new JoinTokenFormatError('token', 'a join token is text');
  const parts = text.trim().split('.');
  if (parts.length !== 4) {
    throw new JoinTokenFormatError('token', `a join token has four parts joined by dots (${JOIN_TOKEN_VERSION}.<ca fingerprint>.<id>.<secret>); this one has ${parts.length}`);
  }
  const [version, fingerprint, id, secret] = parts as [string, string, string, string];
  if (version !== JOIN_TOKEN_VERSION) throw new JoinTokenFormatError('version', `the token does not start with ${JOIN_TOKEN_VERSION}: it is not a kici join token, or of a format this version does not know`);
  if (!/^[0-9a-fA-F]{64}$/.test(fingerprint)) throw new JoinTokenFormatError('fingerprint', `the token's CA fingerprint is not 64 hex digits (it has ${fingerprint.length} characters)`);
  if (!new RegExp(`^[0-9a-fA-F]{${ID_BYTES * 2}}$`).test(id)) throw new JoinTokenFormatError('id', `the token's id is not ${ID_BYTES * 2} hex digits (it has ${id.length} characters)`);
  const secretBytes = /^[A-Za-z0-9_-]+$/.test(secret) ? Buffer.from(secret, 'base64url') : undefined;
  // Canonical encoding only: otherwise several texts would stand for one secret.
  if (secret.length !== SECRET_CHARACTERS || secretBytes?.length !== SECRET_BYTES || secretBytes.toString('base64url') !== secret) {
    throw new JoinTokenFormatError('secret', `the token's secret is not ${SECRET_CHARACTERS} base64url characters (it has ${secret.length})`);
  }
  return new JoinToken(`sha256:${fingerprint.toLowerCase()}`, id.toLowerCase(), secretBytes);
}

/** Is the token's secret the one whose hash the cluster stored for its id? Timing-safe. */
export function verifyJoinSecret(token: JoinToken, storedHash: string): boolean {
  return token.matchesSecretHash(storedHash);
}

/** Does the token name this CA? A joiner asks this of the CA the cluster shows it before trusting it. */
export function joinTokenNamesCa(token: JoinToken, ca: CertificateInput): boolean {
  return token.caFingerprint === certificateFingerprint(ca);
}
