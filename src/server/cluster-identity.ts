import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import {
  CLUSTER_CA_CERTIFICATE_FILE,
  CLUSTER_CA_KEY_FILE,
  type ClusterCaCertificate,
  createClusterCa,
  loadClusterCaCertificate,
  saveClusterCa,
} from '../certificates/index.js';
import type { ClusterIdentityRecord, ClusterRepository } from '../store/index.js';
import type { Logger } from './logger.js';

/** Where a node keeps the cluster CA: `KICI_DATA_DIR/cluster/`. */
export const CLUSTER_DIR = 'cluster';

export interface ClusterIdentity {
  clusterId: string;
  caFingerprint: string;
  /** True on the start that made the cluster. */
  created: boolean;
}

/** The data directory and the database name different clusters (or one of them names none): the node refuses to start. */
export class ClusterIdentityMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterIdentityMismatch';
  }
}

export interface EnsureClusterIdentity {
  dataDir: string;
  cluster: ClusterRepository;
  nodeId: string;
  now: Date;
  log: Pick<Logger, 'info'>;
}

/**
 * The cluster this node belongs to. The first node (no peers configured, as every node is until
 * the mesh exists) makes the cluster once: a cluster id and its CA in `KICI_DATA_DIR/cluster/`,
 * then the id and the CA certificate in the database. Every later start checks that the data
 * directory's CA and the database's record name the same cluster and the same CA, and refuses to
 * start otherwise. The files are written before the database row, so a crash between the two
 * leaves a data directory whose CA the next start records, never a database naming a CA no node
 * holds.
 */
export async function ensureClusterIdentity(p: EnsureClusterIdentity): Promise<ClusterIdentity> {
  const directory = path.join(p.dataDir, CLUSTER_DIR);
  const local = loadClusterCaCertificate(directory);
  const recorded = await p.cluster.identity();

  if (local && recorded) return agreed(local, recorded, directory);
  if (local) {
    const stored = await p.cluster.recordIdentity(identityOf(local, p.nodeId), p.now);
    const identity = agreed(local, stored, directory);
    p.log.info({ clusterId: identity.clusterId, caFingerprint: identity.caFingerprint }, 'cluster identity recorded in the database');
    return identity;
  }
  if (recorded) {
    throw new ClusterIdentityMismatch(
      `the database belongs to cluster ${recorded.clusterId}, but this data directory (${p.dataDir}) holds no cluster CA ` +
        `(${path.join(directory, CLUSTER_CA_CERTIFICATE_FILE)}): start with the data directory of a node of cluster ${recorded.clusterId}, ` +
        'or give this node a database of its own',
    );
  }

  const clusterId = `cluster-${randomBytes(6).toString('hex')}`;
  const ca = await createClusterCa({ clusterId, now: p.now });
  saveClusterCa(directory, ca);
  const stored = await p.cluster.recordIdentity(identityOf(ca, p.nodeId), p.now);
  if (stored.clusterId !== ca.clusterId || stored.caFingerprint !== ca.fingerprint) {
    // Another node made a cluster in this database at the same moment and recorded it first. The
    // CA made here was never used: remove it, so this data directory names no cluster at all.
    for (const file of [CLUSTER_CA_CERTIFICATE_FILE, CLUSTER_CA_KEY_FILE]) rmSync(path.join(directory, file), { force: true });
    throw new ClusterIdentityMismatch(
      `the database belongs to cluster ${stored.clusterId}, made by node ${stored.createdBy} while this node was making one; ` +
        'this node kept nothing of its own: start it with the data directory of a node of that cluster, or give it a database of its own',
    );
  }
  p.log.info({ clusterId, caFingerprint: ca.fingerprint }, 'cluster created: its CA is in the data directory, its id in the database');
  return { clusterId, caFingerprint: ca.fingerprint, created: true };
}

function identityOf(ca: ClusterCaCertificate, nodeId: string) {
  return { clusterId: ca.clusterId, caFingerprint: ca.fingerprint, caCertificatePem: ca.certificatePem, createdBy: nodeId };
}

function agreed(local: ClusterCaCertificate, recorded: ClusterIdentityRecord, directory: string): ClusterIdentity {
  if (local.clusterId !== recorded.clusterId) {
    throw new ClusterIdentityMismatch(
      `this data directory belongs to cluster ${local.clusterId} but the database to ${recorded.clusterId} ` +
        `(${path.join(directory, CLUSTER_CA_CERTIFICATE_FILE)} against the database's record): point KICI_DATA_DIR and KICI_DATABASE_URL at the same cluster's`,
    );
  }
  if (local.fingerprint !== recorded.caFingerprint) {
    throw new ClusterIdentityMismatch(
      `this data directory and the database both name cluster ${local.clusterId}, but with different CAs ` +
        `(${path.join(directory, CLUSTER_CA_CERTIFICATE_FILE)} is ${local.fingerprint}; the database records ${recorded.caFingerprint})`,
    );
  }
  return { clusterId: local.clusterId, caFingerprint: local.fingerprint, created: false };
}
