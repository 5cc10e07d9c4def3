/**
 * Reading a certificate from the forms it arrives in (PEM text from a file, DER bytes, or the
 * object `tls.TLSSocket#getPeerCertificate()` returns), its fingerprint, and its serial number.
 */
import { createHash } from 'node:crypto';
import { CertificateFormatError } from './errors.js';
import { drawBytes, type RandomBytes, systemRandom } from './random.js';
import { x509 } from './x509.js';

/** PEM text, DER bytes, or anything with the DER in `raw` (a `tls` peer certificate, a node `X509Certificate`). */
export type CertificateInput = string | Uint8Array | { readonly raw?: Uint8Array };

/** `sha256:` and 64 lowercase hex digits of the DER certificate, as `openssl x509 -fingerprint -sha256` computes it. */
export type CertificateFingerprint = `sha256:${string}`;

export const FINGERPRINT_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** The DER bytes of exactly one certificate. */
export function certificateDer(input: CertificateInput): Buffer {
  if (typeof input === 'string') return derOfPem(input);
  if (input instanceof Uint8Array) return Buffer.from(input);
  if (input && typeof input === 'object' && input.raw instanceof Uint8Array) return Buffer.from(input.raw);
  // `getPeerCertificate()` answers `{}` when the peer sent no certificate.
  throw new CertificateFormatError('no certificate was given (the peer presented none, or the value is neither PEM text nor DER bytes)');
}

function derOfPem(text: string): Buffer {
  let blocks: { type: string; rawData: ArrayBuffer }[];
  try {
    blocks = x509.PemConverter.decodeWithHeaders(text);
  } catch (cause) {
    throw new CertificateFormatError('the text is not PEM', { cause });
  }
  if (blocks.length !== 1 || blocks[0]!.type !== 'CERTIFICATE') {
    const found = blocks.map((b) => b.type).join(', ') || 'no PEM block';
    throw new CertificateFormatError(`expected exactly one CERTIFICATE PEM block, found ${found}`);
  }
  return Buffer.from(blocks[0]!.rawData);
}

/** The certificate, parsed; a clear error when the bytes are not one. */
export function readCertificate(input: CertificateInput): x509.X509Certificate {
  const der = certificateDer(input);
  try {
    return new x509.X509Certificate(der);
  } catch (cause) {
    throw new CertificateFormatError('the bytes are not an X.509 certificate', { cause });
  }
}

export function certificateFingerprint(input: CertificateInput): CertificateFingerprint {
  return `sha256:${createHash('sha256').update(certificateDer(input)).digest('hex')}`;
}

export function certificatePem(certificate: x509.X509Certificate): string {
  return `${certificate.toString('pem')}\n`;
}

/**
 * Serial numbers as this room speaks them: lowercase hex without leading zeros. Libraries differ
 * (node's `tls` gives uppercase, DER pads a zero byte before a set top bit), so every serial is
 * normalised before it is compared with a revoked list.
 */
export function normaliseSerial(hex: string): string {
  if (!/^[0-9a-fA-F]+$/.test(hex)) throw new CertificateFormatError('a certificate serial is hex digits');
  const trimmed = hex.toLowerCase().replace(/^0+/, '');
  if (trimmed === '') throw new CertificateFormatError('a certificate serial must not be zero');
  return trimmed;
}

/** The longest serial this room issues: 16 bytes, so that with DER's sign byte it stays within RFC 5280's 20 octets. */
export const MAX_SERIAL_HEX_DIGITS = 32;

/** A fresh random serial (128 bits, as the CA/Browser Forum asks of public CAs: unguessable and unique in practice). */
export function newCertificateSerial(random: RandomBytes = systemRandom): string {
  const bytes = drawBytes(random, 16);
  // A zero serial is invalid; setting the lowest bit keeps 127 bits of randomness and rules it out.
  bytes[15] = bytes[15]! | 1;
  return normaliseSerial(bytes.toString('hex'));
}

/** The serial in the DER form the library writes: even length, a zero byte first when the top bit is set (else it reads as negative). */
export function serialForDer(serial: string): string {
  const even = serial.length % 2 === 1 ? `0${serial}` : serial;
  return Number.parseInt(even[0]!, 16) >= 8 ? `00${even}` : even;
}
