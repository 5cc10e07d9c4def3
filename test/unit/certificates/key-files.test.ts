/** Certificate material on disk: modes, no second CA, and keys that must fit their certificates. */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CLUSTER_CA_CERTIFICATE_FILE,
  CLUSTER_CA_KEY_FILE,
  type ClusterCa,
  createClusterCa,
  KeyFileError,
  loadClusterCa,
  loadClusterCaCertificate,
  loadNodeCredentials,
  NODE_CERTIFICATE_FILE,
  NODE_KEY_FILE,
  PrivateKey,
  saveClusterCa,
  saveNodeCredentials,
} from '../../../src/certificates/index.js';
import { DAY_MS, errorOf, type IssuedNode, issueNode, scratchDirectory } from './fixtures.js';

let ca: ClusterCa;
let otherCa: ClusterCa;
let node: IssuedNode;
beforeAll(async () => {
  ca = await createClusterCa({ clusterId: 'alpha', now: new Date() });
  otherCa = await createClusterCa({ clusterId: 'beta', now: new Date() });
  node = await issueNode(ca, 'node-1', 'coordinator');
});

const mode = (path: string) => statSync(path).mode & 0o777;

describe('the cluster CA on disk', () => {
  it('is saved with a private key only its owner can read, and loads back whole', () => {
    const directory = join(scratchDirectory(), 'peer');
    saveClusterCa(directory, ca);
    expect(mode(join(directory, CLUSTER_CA_KEY_FILE))).toBe(0o600);
    expect(mode(join(directory, CLUSTER_CA_CERTIFICATE_FILE))).toBe(0o644);
    expect(readdirSync(directory).sort()).toEqual([CLUSTER_CA_CERTIFICATE_FILE, CLUSTER_CA_KEY_FILE]); // no temporary files left
    const loaded = loadClusterCa(directory)!;
    expect(loaded).toMatchObject({ clusterId: 'alpha', fingerprint: ca.fingerprint, certificatePem: ca.certificatePem });
    expect(loaded.privateKey.toPem()).toBe(ca.privateKey.toPem());
  });

  it('is never overwritten', () => {
    const directory = scratchDirectory();
    saveClusterCa(directory, ca);
    const error = errorOf(() => saveClusterCa(directory, otherCa));
    expect(error).toBeInstanceOf(KeyFileError);
    expect(error.message).toMatch(/already exists: a cluster CA is never overwritten/);
    expect(loadClusterCa(directory)!.fingerprint).toBe(ca.fingerprint);
  });

  it('is absent on a fresh node; a joiner keeps only the certificate', () => {
    const directory = scratchDirectory();
    expect(loadClusterCa(directory)).toBeUndefined();
    expect(loadClusterCaCertificate(directory)).toBeUndefined();
    writeFileSync(join(directory, CLUSTER_CA_CERTIFICATE_FILE), ca.certificatePem);
    expect(loadClusterCa(directory)).toBeUndefined();
    expect(loadClusterCaCertificate(directory)).toMatchObject({ clusterId: 'alpha', fingerprint: ca.fingerprint });
  });

  it('refuses a key that is not the certificate\'s, without quoting either key', () => {
    const directory = scratchDirectory();
    saveClusterCa(directory, ca);
    writeFileSync(join(directory, CLUSTER_CA_KEY_FILE), otherCa.privateKey.toPem());
    const error = errorOf(() => loadClusterCa(directory));
    expect(error).toBeInstanceOf(KeyFileError);
    expect(error.message).toMatch(/is not the key of/);
    expect(error.message).not.toContain('PRIVATE KEY');
    expect(errorOf(() => saveClusterCa(scratchDirectory(), { ...ca, privateKey: otherCa.privateKey }))).toBeInstanceOf(KeyFileError);
  });

  it('refuses a key file that is not an ECDSA P-256 key, without quoting it', () => {
    const directory = scratchDirectory();
    saveClusterCa(directory, ca);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    writeFileSync(join(directory, CLUSTER_CA_KEY_FILE), rsa);
    expect(errorOf(() => loadClusterCa(directory)).message).toMatch(/is rsa, not ECDSA P-256/);
    const secretLooking = 'sEcReT-material-that-must-not-leak';
    writeFileSync(join(directory, CLUSTER_CA_KEY_FILE), secretLooking);
    const error = errorOf(() => loadClusterCa(directory));
    expect(error.message).toMatch(/not an unencrypted PEM private key/);
    expect(error.message).not.toContain(secretLooking);
  });

  it('refuses a key without its certificate', () => {
    const directory = scratchDirectory();
    writeFileSync(join(directory, CLUSTER_CA_KEY_FILE), ca.privateKey.toPem());
    expect(errorOf(() => loadClusterCa(directory)).message).toMatch(/has no cluster-ca.crt beside it/);
  });
});

describe('a node\'s credentials on disk', () => {
  it('are saved with the key private and the CA beside them, and load back checked', () => {
    const directory = scratchDirectory();
    saveNodeCredentials(directory, { certificatePem: node.certificatePem, privateKey: node.privateKey, caCertificatePem: ca.certificatePem });
    expect(mode(join(directory, NODE_KEY_FILE))).toBe(0o600);
    expect(mode(join(directory, NODE_CERTIFICATE_FILE))).toBe(0o644);
    expect(readFileSync(join(directory, CLUSTER_CA_CERTIFICATE_FILE), 'utf8')).toBe(ca.certificatePem);
    const loaded = loadNodeCredentials(directory)!;
    expect(loaded.identity).toMatchObject({ clusterId: 'alpha', nodeId: 'node-1', role: 'coordinator', serial: node.serial });
    expect(loaded.ca.fingerprint).toBe(ca.fingerprint);
    expect(loaded.privateKey.belongsTo(loaded.certificatePem)).toBe(true);
  });

  it('sit beside the CA on the first node, and may be replaced by a renewed certificate', async () => {
    const directory = scratchDirectory();
    saveClusterCa(directory, ca);
    saveNodeCredentials(directory, { certificatePem: node.certificatePem, privateKey: node.privateKey, caCertificatePem: ca.certificatePem });
    const renewed = await issueNode(ca, 'node-1', 'coordinator');
    saveNodeCredentials(directory, { certificatePem: renewed.certificatePem, privateKey: renewed.privateKey, caCertificatePem: ca.certificatePem });
    expect(loadNodeCredentials(directory)!.identity.serial).toBe(renewed.serial);
    expect(loadClusterCa(directory)!.fingerprint).toBe(ca.fingerprint);
    expect(readdirSync(directory).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('still load once expired, so that they can be renewed', async () => {
    const directory = scratchDirectory();
    const old = await issueNode(ca, 'node-2', 'worker', { now: new Date(Date.now() - 100 * DAY_MS), validDays: 10 });
    saveNodeCredentials(directory, { certificatePem: old.certificatePem, privateKey: old.privateKey, caCertificatePem: ca.certificatePem });
    expect(loadNodeCredentials(directory)!.identity.nodeId).toBe('node-2');
  });

  it('refuse a key that does not fit, a certificate of another CA, or a directory that trusts another CA', async () => {
    const directory = scratchDirectory();
    const other = await issueNode(ca, 'node-3', 'worker');
    const mismatched = errorOf(() => saveNodeCredentials(directory, { certificatePem: node.certificatePem, privateKey: other.privateKey, caCertificatePem: ca.certificatePem }));
    expect(mismatched.message).toMatch(/node.key is not the key of .*node.crt/);
    const wrongCa = errorOf(() => saveNodeCredentials(directory, { certificatePem: node.certificatePem, privateKey: node.privateKey, caCertificatePem: otherCa.certificatePem }));
    expect(wrongCa.message).toMatch(/not signed by the CA of cluster beta/);
    expect(existsSync(join(directory, NODE_KEY_FILE))).toBe(false);

    writeFileSync(join(directory, CLUSTER_CA_CERTIFICATE_FILE), otherCa.certificatePem);
    const otherTrust = errorOf(() => saveNodeCredentials(directory, { certificatePem: node.certificatePem, privateKey: node.privateKey, caCertificatePem: ca.certificatePem }));
    expect(otherTrust.message).toMatch(/holds another cluster's CA/);
  });

  it('refuse to load a key file that was swapped, or half of the pair', () => {
    const directory = scratchDirectory();
    expect(loadNodeCredentials(directory)).toBeUndefined();
    saveNodeCredentials(directory, { certificatePem: node.certificatePem, privateKey: node.privateKey, caCertificatePem: ca.certificatePem });
    writeFileSync(join(directory, NODE_KEY_FILE), PrivateKey.generate().toPem());
    const error = errorOf(() => loadNodeCredentials(directory));
    expect(error).toBeInstanceOf(KeyFileError);
    expect(error.message).not.toContain('PRIVATE KEY');
    writeFileSync(join(directory, NODE_CERTIFICATE_FILE), '');
    expect(errorOf(() => loadNodeCredentials(directory))).toBeInstanceOf(KeyFileError);
    unlinkSync(join(directory, NODE_CERTIFICATE_FILE));
    expect(errorOf(() => loadNodeCredentials(directory)).message).toMatch(/node.key has no node.crt beside it/);
  });
});
