/**
 * The commands that act on a node's data directory rather than through the API: `join` (ask a
 * cluster to admit this machine's node, a coordinator or a worker, ahead of its first start) and `cluster recover --force`
 * (make a stopped survivor a cluster of one at its next start).
 */
import { Command } from 'commander';
import path from 'node:path';
import { joinAsCoordinator, joinCluster, localNodeId, readMembership, requestForcedRecovery } from '../../membership/index.js';
import { isPeerAddress } from '../../vocabulary/index.js';
import { defaultDataDir } from '../local-orchestrator.js';
import { globals } from './context.js';
import { printJson } from './output.js';
import { resolveSecret, UsageError } from './secret-input.js';

const clusterDir = (dataDir: string) => path.join(dataDir, 'cluster');

export type JoinArguments =
  | { role: 'coordinator'; token: string; peers: string[]; address: string; instanceId?: string }
  | { role: 'worker'; token: string; peers: string[]; address?: undefined; instanceId?: string };

/** `--role`, `--peer` and `--address` as typed; a UsageError names the flag and never quotes a token. */
export function joinArguments(raw: { token?: unknown; peer?: unknown; address?: unknown; instanceId?: unknown; role?: unknown }): JoinArguments {
  const role = raw.role === undefined ? 'coordinator' : raw.role;
  if (role !== 'coordinator' && role !== 'worker') throw new UsageError('--role must be coordinator or worker');
  const token = typeof raw.token === 'string' ? raw.token.trim() : '';
  if (!token.startsWith('kici1.')) throw new UsageError(`--token must be a join token from \`kici-admin peer create-token --role ${role}\` (it starts with kici1.)`);
  const peers = (Array.isArray(raw.peer) ? raw.peer : [raw.peer]).filter((p): p is string => typeof p === 'string').flatMap((p) => p.split(',')).map((p) => p.trim()).filter(Boolean);
  if (peers.length === 0) throw new UsageError(role === 'worker' ? '--peer is required: the cluster port of a coordinator, host:port' : '--peer is required: the cluster port of a member, host:port');
  for (const p of peers) if (!isPeerAddress(p)) throw new UsageError(`--peer ${JSON.stringify(p.slice(0, 80))} is not host:port`);
  const instanceId = typeof raw.instanceId === 'string' ? raw.instanceId : undefined;
  if (instanceId !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(instanceId)) throw new UsageError('--instance-id must be 1–64 letters, digits, dots, dashes or underscores');
  if (role === 'worker') {
    if (raw.address !== undefined) throw new UsageError('--address is for coordinators: a worker is never dialled (it dials the coordinators), so it has no address');
    return { role, token, peers, instanceId };
  }
  const address = typeof raw.address === 'string' ? raw.address.trim() : '';
  if (!isPeerAddress(address)) throw new UsageError('--address is required: the host:port other nodes will reach this node\'s cluster port at (KICI_CLUSTER_ADDRESS)');
  return { role, token, peers, address, instanceId };
}

export function joinCommand(): Command {
  return new Command('join')
    .description("join a cluster ahead of this node's first start: its certificate (and, for a coordinator, what the cluster shares) is kept in the data directory")
    .option('--role <role>', 'what this node joins as: coordinator (default) or worker; the token must grant it')
    .option('--token <token>', 'a join token (kici-admin peer create-token --role coordinator|worker), or @file')
    .option('--from-env <VAR>', 'read the token from this environment variable (keeps it off the command line)')
    .option('--stdin', 'read the token from standard input')
    .option('--peer <host:port...>', "a member's cluster port (a worker: a coordinator's; repeat, or comma-separate)")
    .option('--address <host:port>', "coordinators only: where the other nodes reach this node's cluster port (KICI_CLUSTER_ADDRESS)")
    .option('--data-dir <dir>', 'the new node\'s data directory (KICI_DATA_DIR, default ./.kici-data)')
    .option('--instance-id <id>', 'this node\'s id (KICI_CLUSTER_INSTANCE_ID; generated into the data directory when absent)')
    .action(async (o, cmd: Command) => {
      const token = await resolveSecret({ value: o.token, fromEnv: o.fromEnv, stdin: o.stdin }, 'the join token');
      const args = joinArguments({ ...o, token });
      const dataDir = path.resolve(o.dataDir ?? globals(cmd).dataDir ?? defaultDataDir());
      if (readMembership(clusterDir(dataDir))) throw new UsageError(`${dataDir} belongs to a cluster already; a node joins with a data directory of its own`);
      const nodeId = localNodeId(dataDir, args.instanceId);
      const common = {
        clusterDir: clusterDir(dataDir),
        nodeId,
        token: args.token,
        peers: args.peers,
        deadlineMs: 30_000,
        onRetry: (peer: string, why: string) => process.stderr.write(`kici-admin: ${peer}: ${why}; trying again\n`),
      };
      const membership = args.role === 'worker' ? await joinCluster({ ...common, role: 'worker' }) : await joinAsCoordinator({ ...common, address: args.address });
      if (globals(cmd).json) return printJson({ clusterId: membership.clusterId, nodeId: membership.nodeId, raftId: membership.raftId, role: args.role, dataDir });
      if (args.role === 'worker') {
        process.stdout.write(
          `worker ${membership.nodeId} joined cluster ${membership.clusterId} (Raft id ${membership.raftId}).\n` +
            `Start it with KICI_DATA_DIR=${dataDir} KICI_CLUSTER_ROLE=worker KICI_CLUSTER_COORDINATOR_URLS=${args.peers.join(',')};\n` +
            'a worker keeps no database and no shared secrets: its certificate in the data directory is all it needs.\n',
        );
        return;
      }
      process.stdout.write(
        `node ${membership.nodeId} joined cluster ${membership.clusterId} (Raft id ${membership.raftId}).\n` +
          `Start it with KICI_DATA_DIR=${dataDir} KICI_CLUSTER_ADDRESS=${args.address} KICI_STORAGE_TYPE=database;\n` +
          'the database URL and master key come from the join (sealed to this node\'s key in the data directory).\n',
      );
    });
}

export function recoverCommand(): Command {
  return new Command('recover')
    .description('make this stopped node a cluster of one at its next start, when most coordinators are lost for good')
    .option('--force', 'yes: drop every other member and take every shard')
    .option('--data-dir <dir>', 'the survivor\'s data directory (KICI_DATA_DIR, default ./.kici-data)')
    .action(async (o, cmd: Command) => {
      if (!o.force) {
        throw new UsageError('cluster recover removes every other member for good and makes this node a cluster of one; stop this node, then run it again with --force');
      }
      const dataDir = path.resolve(o.dataDir ?? globals(cmd).dataDir ?? defaultDataDir());
      const membership = readMembership(clusterDir(dataDir));
      if (!membership) throw new UsageError(`${dataDir} holds no cluster membership: run this on a survivor's data directory (--data-dir)`);
      const file = requestForcedRecovery(clusterDir(dataDir), new Date());
      if (globals(cmd).json) return printJson({ nodeId: membership.nodeId, clusterId: membership.clusterId, requested: file });
      process.stdout.write(
        `Recovery asked for in ${file}.\n` +
          `Start node ${membership.nodeId} again: it becomes the only member of cluster ${membership.clusterId}, the other members are revoked,\n` +
          'and every shard is its own at a new epoch. Then add nodes with `kici-admin peer create-token --role coordinator`.\n',
      );
    });
}
