/**
 * Start this node's part of the cluster: the node that made the cluster gets its membership and
 * node certificate from its own CA; a node that joined brings what its join handed over. Joiners
 * are admitted only when they can share this node's data: a PostgreSQL and blobs in it.
 */
import type { FailedAuthLimit } from '../../auth-guard/index.js';
import type { Clock } from '../../clock/index.js';
import type { MasterKey, SecretKeys } from '../../secrets/index.js';
import type { Store } from '../../store/index.js';
import type { JoinSecrets, PeerFaults } from '../../transport/index.js';
import { founderNode, joinedCa, type JoinedNode } from '../cluster-start.js';
import type { OrchestratorConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { ClusterNode } from './cluster-node.js';

export interface ClusterNodeStart {
  clock: Clock;
  log: Logger;
  nodeId: string;
  clusterId: string;
  store: Store;
  /** The master keys as they are now (a rotation may change them live): joiners are handed both during one. */
  keys: SecretKeys;
  joined: JoinedNode | undefined;
  databaseUrl: string | undefined;
  authFailures: FailedAuthLimit;
  faults: PeerFaults | undefined;
  /** Each actor message sent to another node (a metric). */
  onActorForwarded?(): void;
}

export async function startClusterNode(config: OrchestratorConfig, p: ClusterNodeStart): Promise<ClusterNode> {
  const founder = p.joined ? undefined : await founderNode({ dataDir: config.dataDir, clusterId: p.clusterId, nodeId: p.nodeId, cluster: p.store.cluster, now: new Date(p.clock.now()) });
  const membership = p.joined?.membership ?? founder!.membership;
  const credentials = p.joined?.credentials ?? founder!.credentials;
  const ca = p.joined ? joinedCa(p.joined) : founder!.ca;
  const shareable = p.store.driver === 'postgres' && config.storageType !== 'filesystem' && p.databaseUrl !== undefined;
  const hex = (key: MasterKey) => Buffer.from(key.bytes).toString('hex');
  const secrets = (): JoinSecrets | undefined =>
    shareable
      ? { databaseUrl: p.databaseUrl!, secretKey: hex(p.keys.current), ...(p.keys.old ? { oldSecretKey: hex(p.keys.old) } : {}), caKey: ca.privateKey.toPem() }
      : undefined;
  const node = new ClusterNode({
    config: config.cluster,
    host: config.host,
    dataDir: config.dataDir,
    clock: p.clock,
    log: p.log,
    credentials,
    membership,
    ca,
    secrets,
    tokens: p.store.cluster,
    storedShards: async () => (await p.store.shards.list()).map((s) => ({ shard: s.shard, node: s.ownerNode, epoch: s.epoch })),
    authFailures: p.authFailures,
    faults: p.faults,
    onActorForwarded: p.onActorForwarded,
  });
  await node.start();
  return node;
}
