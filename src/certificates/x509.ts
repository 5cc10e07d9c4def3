/**
 * The X.509 library (@peculiar/x509), loaded the one way that works. It builds on tsyringe, which
 * throws at load time unless the Reflect metadata polyfill is already installed. ES modules
 * evaluate their imports in order, so importing the polyfill first here, and the library only
 * through this file, keeps the polyfill (a global) to this room and its users.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

// Node's own WebCrypto, named rather than found on globalThis, so tests and programs that replace
// the global cannot change what signs our certificates.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };

/** Every key in the cluster is ECDSA on P-256 and signs with SHA-256: small, fast, and what TLS 1.3 expects. */
export const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGNING_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
