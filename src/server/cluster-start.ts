/**
 * What a node needs of its cluster membership before and after the database opens. Before: a node
 * with a join token and no membership joins (the database URL and master key come from the join);
 * a member reads what its join handed over. After: the node that made the cluster gets its own
 * node certificate from its CA, and every coordinator holds the CA key so it can admit joiners.
 * A worker (`joinedWorker`) has no database: its membership and node certificate are all it keeps.
 */
import path from 'node:path';
import {
  type ClusterCa,
  createNodeRequest,
  loadClusterCa,
  loadNodeCredentials,
  newCertificateSerial,
  nodeIdentity,
  type NodeCredentials,
  PrivateKey,
  saveNodeCredentials,
  signNodeCertificate,
} from '../certificates/index.js';
import { joinAsCoordinator, joinCluster, type Membership, openJoinSecrets, readMembership, writeMembership } from '../membership/index.js';
import { keyVersionOf } from '../secrets/index.js';
import type { ClusterRepository } from '../store/index.js';
import type { JoinSecrets } from '../transport/index.js';
import { CLUSTER_DIR } from './cluster-identity.js';
import { ConfigError, type OrchestratorConfig } from './config.js';
import type { Logger } from './logger.js';

export interface JoinedNode {
  membership: Membership;
  credentials: NodeCredentials;
  secrets: JoinSecrets;
}

export function clusterDirOf(dataDir: string): string {
  return path.join(dataDir, CLUSTER_DIR);
}

/**
 * Before the database: join if a token asks for it, then read what a joined node keeps. Undefined
 * on the node that made the cluster (or a node alone): it has its own database URL and key.
 */
export async function joinedNode(config: OrchestratorConfig, nodeId: string, log: Pick<Logger, 'info' | 'warn'>): Promise<JoinedNode | undefined> {
  const dir = clusterDirOf(config.dataDir);
  let membership = readMembership(dir);
  const { joinToken, peers, address } = config.cluster;
  if (!membership && joinToken && address) {
    // The CA key, not its certificate: a join cut short keeps the CA certificate it was given.
    if (loadClusterCa(dir)) {
      throw new ConfigError([`KICI_CLUSTER_JOIN_TOKEN: this data directory (${config.dataDir}) already belongs to a cluster it made; a node joins with a data directory of its own`]);
    }
    log.info({ peers, nodeId }, 'joining the cluster');
    membership = await joinAsCoordinator({ clusterDir: dir, nodeId, token: joinToken, peers, address, onRetry: (peer, why) => log.warn({ peer, why }, 'join attempt failed; trying again') });
    log.info({ clusterId: membership.clusterId, raftId: membership.raftId }, 'joined the cluster');
  } else if (membership && joinToken) {
    log.warn({ clusterId: membership.clusterId }, 'KICI_CLUSTER_JOIN_TOKEN is not used: this node is a member already (remove it from the environment)');
  }
  if (!membership && peers.length > 0) {
    throw new ConfigError(['KICI_CLUSTER_PEERS: this node has not joined a cluster yet; set KICI_CLUSTER_JOIN_TOKEN (kici-admin peer create-token --role coordinator) or run kici-admin join first']);
  }
  if (!membership) return undefined;
  // The founder's certificate is made after the database opens (founderNode); one already kept is checked now.
  if (membership.founder) {
    const kept = loadNodeCredentials(dir);
    if (kept) refuseOtherRole(config.dataDir, kept, 'coordinator');
    return undefined;
  }
  if (membership.nodeId !== nodeId) throw new ConfigError([`KICI_CLUSTER_INSTANCE_ID: this data directory belongs to node ${membership.nodeId}, not ${nodeId}`]);
  const credentials = loadNodeCredentials(dir);
  if (!credentials) throw new ConfigError([`${dir} holds a membership but no node certificate: rejoin this node with a new token and a fresh data directory`]);
  refuseOtherRole(config.dataDir, credentials, 'coordinator');
  const secrets = openJoinSecrets(dir, credentials);
  if (!secrets) throw new ConfigError([`${dir} holds no join secrets: rejoin this node with a new token and a fresh data directory`]);
  return { membership, credentials, secrets };
}

export interface JoinedWorker {
  membership: Membership;
  credentials: NodeCredentials;
}

/**
 * A worker's membership before it starts: on the first start it joins with its token through the
 * coordinators it dials; afterwards it reads what the join kept. A worker is handed no secrets (it
 * keeps no database and holds no CA key), so its membership and certificate are all it needs.
 */
export async function joinedWorker(config: OrchestratorConfig, nodeId: string, log: Pick<Logger, 'info' | 'warn'>): Promise<JoinedWorker> {
  const dir = clusterDirOf(config.dataDir);
  let membership = readMembership(dir);
  const { joinToken, coordinators } = config.cluster;
  if (!membership) {
    if (!joinToken) {
      throw new ConfigError([`KICI_CLUSTER_ROLE=worker: this node has not joined a cluster yet (${config.dataDir} holds no membership); set KICI_CLUSTER_JOIN_TOKEN (kici-admin peer create-token --role worker)`]);
    }
    if (loadClusterCa(dir)) {
      throw new ConfigError([`KICI_CLUSTER_ROLE=worker: this data directory (${config.dataDir}) holds the CA of a cluster it made, so it is a coordinator's; a worker joins with a data directory of its own`]);
    }
    // A join cut short may have kept a certificate: it must be a worker's, or this directory is a coordinator's.
    const kept = loadNodeCredentials(dir);
    if (kept) refuseOtherRole(config.dataDir, kept, 'worker');
    log.info({ coordinators, nodeId }, 'joining the cluster as a worker');
    membership = await joinCluster({ role: 'worker', clusterDir: dir, nodeId, token: joinToken, peers: coordinators, onRetry: (peer, why) => log.warn({ peer, why }, 'join attempt failed; trying again') });
    log.info({ clusterId: membership.clusterId, raftId: membership.raftId }, 'joined the cluster as a worker');
  } else if (joinToken) {
    log.warn({ clusterId: membership.clusterId }, 'KICI_CLUSTER_JOIN_TOKEN is not used: this node is a member already (remove it from the environment)');
  }
  if (membership.founder) {
    throw new ConfigError([`KICI_CLUSTER_ROLE=worker: this data directory (${config.dataDir}) belongs to the coordinator that made cluster ${membership.clusterId}; start it as a coordinator, or give the worker a data directory of its own`]);
  }
  if (membership.nodeId !== nodeId) throw new ConfigError([`KICI_CLUSTER_INSTANCE_ID: this data directory belongs to node ${membership.nodeId}, not ${nodeId}`]);
  const credentials = loadNodeCredentials(dir);
  if (!credentials) throw new ConfigError([`${dir} holds a membership but no node certificate: rejoin this worker with a new token (kici-admin peer create-token --role worker) and a fresh data directory`]);
  refuseOtherRole(config.dataDir, credentials, 'worker');
  return { membership, credentials };
}

/** A data directory whose node certificate names another role than the one configured is refused. */
function refuseOtherRole(dataDir: string, credentials: NodeCredentials, configured: 'coordinator' | 'worker'): void {
  const certified = credentials.identity.role;
  if (certified === configured) return;
  const problem =
    configured === 'coordinator'
      ? `KICI_CLUSTER_ROLE: this data directory (${dataDir}) belongs to worker ${credentials.identity.nodeId} (its node certificate says role worker); start it with KICI_CLUSTER_ROLE=worker, or give the coordinator a data directory of its own`
      : `KICI_CLUSTER_ROLE=worker: this data directory (${dataDir}) belongs to coordinator ${credentials.identity.nodeId} (its node certificate says role coordinator); start it as a coordinator, or give the worker a data directory of its own`;
  throw new ConfigError([problem]);
}

/**
 * The settings a joined node takes from its join, each checked against what is configured. The
 * master key is the one its handover holds (the joined one, or the one a rotation handed it since:
 * MasterKeyHandover rewrites the handover), and the configured KICI_SECRET_KEY may not be the
 * handover's old key (going back would seal values the others are about to stop reading). A
 * configured KICI_SECRET_KEY that differs otherwise is taken as-is when
 * KICI_SECRET_KEY_OLD names the joined key (a rotation under way: this node still reads what it
 * sealed); otherwise only once the database shows the cluster uses it (`keyNeedsDatabase`, checked
 * at start: `configuredKeyProblem`). The old key comes from the configuration, else from the join
 * (a node that joined during a rotation was handed both).
 */
export function sharedSettings(
  config: OrchestratorConfig,
  joined: JoinedNode,
): { databaseUrl: string; secretKey: string; secretKeyOld?: string; keyNeedsDatabase?: true } {
  const problems: string[] = [];
  const joinedKey = joined.secrets.secretKey;
  const configured = config.secretKey ? normaliseKey(config.secretKey) : undefined;
  const configuredOld = config.secretKeyOld ? normaliseKey(config.secretKeyOld) : undefined;
  const moved = configured !== undefined && configured !== joinedKey;
  // Shared storage only: the filesystem is one node's. An S3 member is given its bucket and credentials by its own environment, not by the join.
  if (config.storageType === 'filesystem') problems.push('KICI_STORAGE_TYPE: a member of a cluster keeps blobs and step logs where every member sees them; set KICI_STORAGE_TYPE=database (the database the cluster shares) or s3 (with the bucket the other members use)');
  if (problems.length) throw new ConfigError(problems);
  // A rotation handed this node a newer key (its handover keeps the one configured as the old key): starting on the older one would seal values the others then read with a key they are about to drop.
  if (configured !== undefined && configured === joined.secrets.oldSecretKey) {
    throw new ConfigError([
      `KICI_SECRET_KEY: is the previous master key (key version ${keyVersionOf(Buffer.from(configured, 'hex'))}); a rotation handed this node the cluster's newer key (key version ${keyVersionOf(Buffer.from(joinedKey, 'hex'))}), kept in its sealed handover. Unset KICI_SECRET_KEY and KICI_SECRET_KEY_OLD (the handed-over keys are used), or set KICI_SECRET_KEY to the new key`,
    ]);
  }
  const secretKey = moved ? configured : joinedKey;
  const secretKeyOld = configuredOld ?? joined.secrets.oldSecretKey;
  return {
    databaseUrl: config.databaseUrl ?? joined.secrets.databaseUrl,
    secretKey,
    ...(secretKeyOld !== undefined && secretKeyOld !== secretKey ? { secretKeyOld } : {}),
    ...(moved && configuredOld !== joinedKey ? { keyNeedsDatabase: true as const } : {}),
  };
}

/**
 * A joined node configured with a key other than the one it was handed (and not rotating from it)
 * starts only when the database shows the cluster uses one of its keys: at least one sealed value
 * carries the version of KICI_SECRET_KEY or KICI_SECRET_KEY_OLD (the start check has already made
 * sure every value opens). A mistyped key on a cluster with no sealed values yet is refused rather
 * than left to seal values no other node can open.
 */
export function configuredKeyProblem(sealedVersions: readonly number[], keyVersions: readonly number[]): string | undefined {
  if (sealedVersions.some((v) => keyVersions.includes(v))) return undefined;
  return "KICI_SECRET_KEY: differs from the cluster's master key this node was handed when it joined, and no sealed value in the database carries its key version; unset it (the joined key is used), or, to rotate the master key, also set KICI_SECRET_KEY_OLD to the joined key";
}

function normaliseKey(text: string): string {
  const value = text.trim();
  return /^[0-9a-fA-F]{64}$/.test(value) ? value.toLowerCase() : Buffer.from(value, 'base64').toString('hex');
}

export interface FounderParts {
  dataDir: string;
  clusterId: string;
  nodeId: string;
  cluster: Pick<ClusterRepository, 'recordNodeCertificate'>;
  now: Date;
}

/** The node that made the cluster: its membership record and its own node certificate, made once. */
export async function founderNode(p: FounderParts): Promise<{ membership: Membership; credentials: NodeCredentials; ca: ClusterCa }> {
  const dir = clusterDirOf(p.dataDir);
  const ca = loadClusterCa(dir);
  if (!ca) throw new ConfigError([`${dir} has no cluster CA key: this node did not make the cluster and has not joined it`]);
  let membership = readMembership(dir);
  if (!membership) {
    membership = { clusterId: p.clusterId, nodeId: p.nodeId, raftId: 1, founder: true, members: [] };
    writeMembership(dir, membership);
  }
  let credentials = loadNodeCredentials(dir);
  if (!credentials) {
    const request = await createNodeRequest({ clusterId: p.clusterId, nodeId: p.nodeId, role: 'coordinator' });
    const certificatePem = await signNodeCertificate({ ca, csrPem: request.requestPem, clusterId: p.clusterId, nodeId: p.nodeId, role: 'coordinator', serial: newCertificateSerial(), now: p.now });
    const identity = nodeIdentity(certificatePem);
    await p.cluster.recordNodeCertificate({ serial: identity.serial, nodeId: p.nodeId, role: 'coordinator', notAfter: identity.notAfter }, p.now);
    credentials = saveNodeCredentials(dir, { certificatePem, privateKey: request.privateKey, caCertificatePem: ca.certificatePem });
  }
  return { membership, credentials, ca };
}

/** The CA with its key, as a joined coordinator holds it: from its sealed join secrets, in memory only. */
export function joinedCa(joined: JoinedNode): ClusterCa {
  return { ...joined.credentials.ca, privateKey: PrivateKey.fromPem(joined.secrets.caKey) };
}
