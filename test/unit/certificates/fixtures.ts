/** A cluster to test with: a CA, nodes issued by it the way a joiner gets its certificate, and scratch directories. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import {
  type ClusterCa,
  createNodeRequest,
  newCertificateSerial,
  type NodeRole,
  type PrivateKey,
  signNodeCertificate,
} from '../../../src/certificates/index.js';

export interface IssuedNode {
  nodeId: string;
  role: NodeRole;
  serial: string;
  privateKey: PrivateKey;
  certificatePem: string;
}

/** A node certificate obtained as a joiner would: its own key and request, signed by the CA. */
export async function issueNode(
  ca: ClusterCa,
  nodeId: string,
  role: NodeRole,
  options: { now?: Date; validDays?: number; addresses?: string[] } = {},
): Promise<IssuedNode> {
  const { privateKey, requestPem } = await createNodeRequest({ clusterId: ca.clusterId, nodeId, role, addresses: options.addresses });
  const serial = newCertificateSerial();
  const certificatePem = await signNodeCertificate({
    ca,
    csrPem: requestPem,
    clusterId: ca.clusterId,
    nodeId,
    role,
    serial,
    now: options.now ?? new Date(),
    validDays: options.validDays,
    addresses: options.addresses,
  });
  return { nodeId, role, serial, privateKey, certificatePem };
}

const directories: string[] = [];

/** A scratch directory removed after the test. */
export function scratchDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'kici-certificates-'));
  directories.push(directory);
  return directory;
}

afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

export const DAY_MS = 24 * 60 * 60 * 1000;

export function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}
