/**
 * A private key that keeps itself out of logs and error messages. The PEM is held in a private
 * field: `JSON.stringify`, `console.log`, pino and string templates see `[private key]`, and only
 * an explicit `toPem()` (for a key file or `tls.createSecureContext`) hands the text out.
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
  X509Certificate as NodeCertificate,
  webcrypto,
} from 'node:crypto';
import { inspect } from 'node:util';
import { certificateDer, type CertificateInput } from './certificate.js';
import { PrivateKeyError } from './errors.js';
import { KEY_ALGORITHM } from './x509.js';

const REDACTED = '[private key]';

export class PrivateKey {
  readonly #key: KeyObject;

  private constructor(key: KeyObject) {
    this.#key = key;
  }

  /** A fresh ECDSA P-256 key, made where it will be used: a node's key never leaves the node. */
  static generate(): PrivateKey {
    return new PrivateKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  }

  /** Read a PEM key (PKCS#8 or SEC1); anything but an unencrypted ECDSA P-256 key is refused. */
  static fromPem(pem: string): PrivateKey {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pem, format: 'pem' });
    } catch {
      // OpenSSL's message is not quoted: the point is never to echo anything near key material.
      throw new PrivateKeyError('the text is not an unencrypted PEM private key');
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new PrivateKeyError(`the private key is ${key.asymmetricKeyType ?? 'of an unknown type'}${key.asymmetricKeyDetails?.namedCurve ? ` on ${key.asymmetricKeyDetails.namedCurve}` : ''}, not ECDSA P-256`);
    }
    return new PrivateKey(key);
  }

  /** The key as PKCS#8 PEM: for its file (mode 0600) and for `tls`, nowhere else. */
  toPem(): string {
    return this.#key.export({ type: 'pkcs8', format: 'pem' }) as string;
  }

  /** The matching public key as SubjectPublicKeyInfo DER. */
  publicKeyDer(): Buffer {
    return createPublicKey(this.#key).export({ type: 'spki', format: 'der' });
  }

  /** Is this the key whose public half `certificate` carries? */
  belongsTo(certificate: CertificateInput): boolean {
    return new NodeCertificate(certificateDer(certificate)).checkPrivateKey(this.#key);
  }

  /** The ECDH secret this key shares with the holder of `publicKeyDer` (SPKI, P-256): for sealed boxes. */
  sharedSecret(publicKeyDer: Buffer): Buffer {
    return diffieHellman({ privateKey: this.#key, publicKey: createPublicKey({ key: publicKeyDer, format: 'der', type: 'spki' }) });
  }

  /** The key pair as WebCrypto keys, for the X.509 library to sign with. */
  async cryptoKeys(): Promise<webcrypto.CryptoKeyPair> {
    const der = this.#key.export({ type: 'pkcs8', format: 'der' });
    const [privateKey, publicKey] = await Promise.all([
      webcrypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign']),
      webcrypto.subtle.importKey('spki', this.publicKeyDer(), KEY_ALGORITHM, true, ['verify']),
    ]);
    return { privateKey, publicKey };
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `PrivateKey ${REDACTED}`;
  }
}
