/**
 * Why the certificate room refused something. Messages describe what was wrong with an input,
 * never its secret parts: private keys and join-token secrets do not appear in any of them.
 */

/** The bytes given are not a certificate (or request) this room can read. */
export class CertificateFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CertificateFormatError';
  }
}

/** The certificate is readable but does not name a node of a kici cluster. */
export class NoNodeIdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoNodeIdentityError';
  }
}

/** A certificate signing request the CA will not sign: bad signature, wrong key, or names that disagree. */
export class NodeRequestRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeRequestRefusedError';
  }
}

/** A private key that cannot be used: unreadable, the wrong kind, or not the key of its certificate. */
export class PrivateKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrivateKeyError';
  }
}

/** Certificate material on disk that is missing, incomplete, inconsistent, or must not be overwritten. */
export class KeyFileError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'KeyFileError';
  }
}

/** The part of a join token that is malformed. */
export type JoinTokenPart = 'token' | 'version' | 'fingerprint' | 'id' | 'secret';

/** A join token that cannot be parsed; `part` says which piece is wrong. The message never quotes the token. */
export class JoinTokenFormatError extends Error {
  constructor(
    readonly part: JoinTokenPart,
    message: string,
  ) {
    super(message);
    this.name = 'JoinTokenFormatError';
  }
}

/** A sealed box that does not open: malformed, sealed for another key or purpose, or altered. */
export class SealedBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedBoxError';
  }
}
