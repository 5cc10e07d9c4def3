/** Private keys keep themselves out of logs, JSON and messages. */
import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createClusterCa, PrivateKey, PrivateKeyError } from '../../../src/certificates/index.js';
import { errorOf } from './fixtures.js';

describe('PrivateKey', () => {
  it('prints as redacted however it is logged', async () => {
    const ca = await createClusterCa({ clusterId: 'alpha', now: new Date() });
    const pem = ca.privateKey.toPem();
    const body = pem.split('\n')[1]!;
    for (const shown of [JSON.stringify(ca), inspect(ca, { depth: 5, showHidden: true }), `${ca.privateKey}`, String(ca.privateKey)]) {
      expect(shown).toContain('[private key]');
      expect(shown).not.toContain(body);
    }
  });

  it('round-trips through PEM and knows its certificate', async () => {
    const ca = await createClusterCa({ clusterId: 'alpha', now: new Date() });
    const again = PrivateKey.fromPem(ca.privateKey.toPem());
    expect(again.toPem()).toBe(ca.privateKey.toPem());
    expect(again.belongsTo(ca.certificatePem)).toBe(true);
    expect(PrivateKey.generate().belongsTo(ca.certificatePem)).toBe(false);
  });

  it('accepts SEC1 ("EC PRIVATE KEY") as well as PKCS#8', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const sec1 = privateKey.export({ type: 'sec1', format: 'pem' }) as string;
    expect(PrivateKey.fromPem(sec1).toPem()).toBe(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  });

  it('refuses other kinds of key, and text that is no key, without quoting it', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(errorOf(() => PrivateKey.fromPem(p384)).message).toBe('the private key is ec on secp384r1, not ECDSA P-256');
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(errorOf(() => PrivateKey.fromPem(ed))).toBeInstanceOf(PrivateKeyError);
    const garbage = '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw==\n-----END PRIVATE KEY-----\n';
    const error = errorOf(() => PrivateKey.fromPem(garbage));
    expect(error).toBeInstanceOf(PrivateKeyError);
    expect(error.message).not.toContain('c2VjcmV0');
  });
});
