/**
 * Sealed boxes: bytes only the holder of one node key can open. The sender makes a fresh P-256
 * key, agrees a secret with the recipient's public key (ECDH), derives an AES-256-GCM key from it
 * (HKDF-SHA256) and encrypts. What a joiner is handed (the database URL, the master key, the CA
 * key) travels and rests in such a box, so a copy of the box alone, without the node's key, reveals
 * nothing. The box names its purpose as associated data: a box sealed for one purpose does not open
 * as another.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { SealedBoxError } from './errors.js';
import { PrivateKey } from './private-key.js';

const VERSION = 1;
const INFO = 'kici-sealed-box-v1';

const boxSchema = z.strictObject({
  v: z.literal(VERSION),
  /** The sender's one-time public key, SPKI DER, base64. */
  epk: z.string().min(1),
  iv: z.string().length(16),
  tag: z.string().length(24),
  data: z.string(),
});

export type SealedBox = z.infer<typeof boxSchema>;

function keyFor(secret: Buffer, salt: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, salt, `${INFO}:${purpose}`, 32));
}

/** Seal `plaintext` for the holder of the private key whose public half is `recipientPublicKeyDer`. */
export function sealFor(recipientPublicKeyDer: Buffer, plaintext: Uint8Array, purpose: string): SealedBox {
  const sender = PrivateKey.generate();
  const epk = sender.publicKeyDer();
  const key = keyFor(sender.sharedSecret(recipientPublicKeyDer), epk, purpose);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(purpose));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { v: VERSION, epk: epk.toString('base64'), iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

/** Open a box sealed for `key`; a box for another key or purpose, or one altered, is refused. */
export function openSealed(key: PrivateKey, box: unknown, purpose: string): Buffer {
  const parsed = boxSchema.safeParse(box);
  if (!parsed.success) throw new SealedBoxError('the sealed box is malformed');
  const b = parsed.data;
  try {
    const epk = Buffer.from(b.epk, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', keyFor(key.sharedSecret(epk), epk, purpose), Buffer.from(b.iv, 'base64'));
    decipher.setAAD(Buffer.from(purpose));
    decipher.setAuthTag(Buffer.from(b.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(b.data, 'base64')), decipher.final()]);
  } catch {
    throw new SealedBoxError('the sealed box does not open with this key (sealed for another node, for another purpose, or altered)');
  }
}
