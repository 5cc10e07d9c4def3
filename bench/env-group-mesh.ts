/**
 * Admission through one EnvGroupActor across three nodes (issue 16's "across three"): the group
 * lives on node-1 (the shard map puts its key there) and the runs asking for slots live on all
 * three, so two jobs in three ask, are answered, are told "your turn" and give their slot back
 * over the mesh. Each job asks for a slot, is admitted (at once, or from the line by a notice),
 * holds it for no time and gives it back, as in env-group.ts's one-node figure.
 *
 * Real here, the parts the orchestrator uses between nodes (src/server/wiring/cluster-node.ts):
 * - three `ActorSystem`s, each routing by one shard map: every shard at epoch 1, the groups' shards
 *   on node-1, the others dealt round the three nodes;
 * - `ActorLinks` (the actors room's `RemoteDelivery`: message ids, resends, the receiver's
 *   apply-once memory, the acknowledgement of a tell) over `actor.deliver` requests;
 * - `PeerLinks`: each node's peer port on 127.0.0.1, mutual TLS with node certificates signed by a
 *   cluster CA made at start (`src/certificates`, as a joiner gets them), the hello, heartbeats,
 *   one link per pair, the send queues, the msgpackr frame codec and the zod check of every body;
 * - the EnvGroupActor (registered on every node, active on node-1) and its `notify` port wired as
 *   in run-domain.ts: `runRef(system, runId).tell({ type: 'env_slot', … })`, so a notice reaches
 *   the run's node through the same routing and links.
 *
 * Not real: all three nodes share this one process and its one event loop (loopback sockets,
 * no network between them, so the CPU figure is the three nodes' together and nothing runs in
 * parallel); the shard map is fixed (no Raft, no coordinator, no shard moves) and membership is
 * the three certificates known at start (`trusted`), not the Raft state's; no store (no `load`
 * port, no fenced writes); the run actor is a stand-in of the `run` kind that only wakes the
 * waiting job when its `env_slot` notice arrives, and the "runs" are plain async loops that ask
 * through their own node's system with `envGroupRef(system, …)`.
 */
import { ActorSystem, SHARD_COUNT, shardOf, type ShardMap, type ShardOwner } from '../src/actors/index.js';
import {
  createClusterCa,
  createNodeRequest,
  newCertificateSerial,
  nodeIdentity,
  readClusterCaCertificate,
  signNodeCertificate,
  type ClusterCa,
  type NodeCredentials,
} from '../src/certificates/index.js';
import { systemClock } from '../src/clock/index.js';
import { envGroupKey, envGroupRef, registerEnvGroupActor, type EnvGroupIdentity } from '../src/environments/index.js';
import { RUN_ACTOR_KIND, runRef, type RunMessage } from '../src/runs/index.js';
import { ActorLinks } from '../src/server/wiring/actor-links.js';
import { PeerKinds, PeerLinks, registerActorKinds } from '../src/transport/index.js';

export const MESH_NODES = ['node-1', 'node-2', 'node-3'] as const;
/** Jobs each node's runs ask for (so 6,000 in all, 4,000 of them from the two nodes without the group). */
export const MESH_JOBS_PER_NODE = 2_000;
/** Runs asking at once on each node (48 in all). */
export const MESH_ASKERS_PER_NODE = 16;
const WARM_UP_JOBS_PER_NODE = 600;
const ORG = 'bench';
const ASK_MS = 30_000;
/** A row not done by then failed: a job's turn never came (its notice lost, or sent to the wrong node). */
const STUCK_MS = 300_000;

export interface MeshFigures {
  limit: number;
  perSecond: number;
  cpuMsPer1000: number;
  queued: number;
  /** `actor.deliver` requests the three nodes sent over their links (asks, answers ride back on them). */
  deliveries: number;
  /** Notices that reached a run on node-2 or node-3 (over the mesh). */
  remoteNotices: number;
}

/** Every shard at epoch 1: `pinned` shards on their node, the rest dealt round the nodes. */
class BenchShardMap implements ShardMap {
  private readonly owners: ShardOwner[];
  constructor(nodes: readonly string[], pinned: Map<number, string>) {
    this.owners = Array.from({ length: SHARD_COUNT }, (_, s) => ({ node: pinned.get(s) ?? nodes[s % nodes.length], epoch: 1 }));
  }
  ownerOf(shard: number): ShardOwner | undefined {
    return this.owners[shard];
  }
}

interface MeshNode {
  id: string;
  links: PeerLinks;
  actors: ActorLinks;
  system: ActorSystem;
  /** The jobs of this node's runs waiting in line, by job id: their run's notice wakes them. */
  waiting: Map<string, () => void>;
  notices: number;
  forwarded: number;
}

async function credentials(ca: ClusterCa, nodeId: string): Promise<NodeCredentials> {
  const role = 'coordinator' as const;
  const { privateKey, requestPem } = await createNodeRequest({ clusterId: ca.clusterId, nodeId, role });
  const certificatePem = await signNodeCertificate({ ca, csrPem: requestPem, clusterId: ca.clusterId, nodeId, role, serial: newCertificateSerial(), now: new Date() });
  return { certificatePem, privateKey, ca: readClusterCaCertificate(ca.certificatePem), identity: nodeIdentity(certificatePem) };
}

export class EnvGroupMesh {
  private constructor(
    readonly nodes: MeshNode[],
    readonly map: ShardMap,
  ) {}

  /** Three nodes on loopback, every pair linked; `groups` are placed on node-1. */
  static async start(groups: EnvGroupIdentity[]): Promise<EnvGroupMesh> {
    // node:tls judges certificate dates by the real clock, so they are made at real now.
    const ca = await createClusterCa({ clusterId: 'bench-mesh', now: new Date() });
    const pinned = new Map(groups.map((g) => [shardOf(envGroupKey(g)), MESH_NODES[0] as string]));
    const map = new BenchShardMap(MESH_NODES, pinned);
    const members = new Set<string>(MESH_NODES);
    const nodes: MeshNode[] = [];
    for (const id of MESH_NODES) {
      const kinds = new PeerKinds();
      const actorKinds = registerActorKinds(kinds);
      const links = new PeerLinks({ credentials: await credentials(ca, id), kinds, listen: { host: '127.0.0.1', port: 0 }, clock: systemClock });
      const node = { id, links, waiting: new Map(), notices: 0, forwarded: 0 } as unknown as MeshNode;
      node.actors = new ActorLinks({
        links,
        kinds: actorKinds,
        nodeId: id,
        clock: systemClock,
        system: () => node.system,
        trusted: (from) => members.has(from.nodeId),
        admits: (from) => from.role === 'coordinator',
        onForwarded: () => node.forwarded++,
      });
      node.system = new ActorSystem({ nodeId: id, clock: systemClock, shardMap: map, remote: node.actors });
      // As run-domain.ts wires it: a notice goes to the job's run, wherever the shard map puts it.
      registerEnvGroupActor(node.system, {
        notify: (group, n) => runRef(node.system, n.runId).tell({ type: 'env_slot', jobId: n.jobId, group: group.group, verdict: n.verdict, reason: n.reason }),
      });
      // The stand-in run actor: wakes the job its notice names, on this node only.
      node.system.register<RunMessage>(RUN_ACTOR_KIND, () => ({
        receive: (msg) => {
          if (msg.type !== 'env_slot' || msg.verdict !== 'admitted') return;
          node.notices++;
          node.waiting.get(msg.jobId)?.();
        },
      }));
      await links.start();
      nodes.push(node);
    }
    for (const a of nodes) for (const b of nodes) if (a !== b) a.links.addPeer(b.id, `127.0.0.1:${b.links.address!.port}`);
    await Promise.all(nodes.map((a) => allUp(a.links, nodes.filter((b) => b !== a).map((b) => b.id))));
    return new EnvGroupMesh(nodes, map);
  }

  /** A run id whose shard the map puts on `node`, so its actor (and the notices to it) live there. */
  private runIdOn(node: string, asker: number): string {
    for (let n = 0; ; n++) {
      const runId = `run-${node}-${asker}-${n}`;
      if (this.map.ownerOf(shardOf(runId))?.node === node) return runId;
    }
  }

  /** `jobsPerNode` jobs from each node's `MESH_ASKERS_PER_NODE` runs, all asking `group` at `limit`. */
  async measure(group: EnvGroupIdentity, limit: number, jobsPerNode = MESH_JOBS_PER_NODE): Promise<MeshFigures> {
    const owner = this.map.ownerOf(shardOf(envGroupKey(group)))?.node;
    if (owner !== MESH_NODES[0]) throw new Error(`group ${group.group} is on ${owner}, not ${MESH_NODES[0]}`);
    let queued = 0;
    const noticesBefore = this.nodes.map((n) => n.notices);
    const forwardedBefore = this.nodes.reduce((sum, n) => sum + n.forwarded, 0);
    const runsOf = (node: MeshNode): Promise<void>[] => {
      const ref = envGroupRef(node.system, group);
      let next = 0;
      const asker = async (i: number): Promise<void> => {
        const runId = this.runIdOn(node.id, i);
        while (next < jobsPerNode) {
          const job = { runId, jobId: `${node.id}-${group.group}-${next++}` };
          const turn = new Promise<void>((resolve) => node.waiting.set(job.jobId, resolve));
          const answer = await ref.ask<{ verdict: string }>({ type: 'request', ...job, limit, strategy: 'queue', rulesAt: 0 }, ASK_MS);
          if (answer.verdict === 'queued') {
            queued++;
            await turn;
          } else if (answer.verdict !== 'admitted') {
            throw new Error(`${job.jobId}: ${answer.verdict}`);
          }
          node.waiting.delete(job.jobId);
          ref.tell({ type: 'release', ...job });
        }
      };
      return Array.from({ length: MESH_ASKERS_PER_NODE }, (_, i) => asker(i));
    };
    const cpu = process.cpuUsage();
    const started = performance.now();
    let watchdog: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      watchdog = setTimeout(() => reject(new Error(`${group.group}: jobs still waiting after ${STUCK_MS} ms (a notice lost, or sent to the wrong node)`)), STUCK_MS);
    });
    try {
      await Promise.race([Promise.all(this.nodes.flatMap(runsOf)), stuck]);
    } finally {
      clearTimeout(watchdog);
    }
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const jobs = jobsPerNode * this.nodes.length;
    return {
      limit,
      perSecond: jobs / seconds,
      cpuMsPer1000: ((used.user + used.system) / 1000 / jobs) * 1000,
      queued,
      deliveries: this.nodes.reduce((sum, n) => sum + n.forwarded, 0) - forwardedBefore,
      remoteNotices: this.nodes.slice(1).reduce((sum, n, i) => sum + n.notices - noticesBefore[i + 1], 0),
    };
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) n.actors.close();
    await Promise.all(this.nodes.map((n) => n.system.shutdown()));
    await Promise.all(this.nodes.map((n) => n.links.close()));
  }
}

/** Resolves once `links` has a link up to each of `peerIds`. */
function allUp(links: PeerLinks, peerIds: string[]): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!peerIds.every((p) => links.isUp(p))) return;
      off();
      resolve();
    };
    const off = links.on('peerUp', check);
    check();
  });
}

/** The warm-up and the two measured rows, on one mesh; the groups are fresh actors each. */
export async function measureAcrossThree(): Promise<MeshFigures[]> {
  const group = (name: string): EnvGroupIdentity => ({ orgId: ORG, group: name });
  const mesh = await EnvGroupMesh.start([group('warm-up'), group('production-1'), group('production-10')]);
  try {
    await mesh.measure(group('warm-up'), 10, WARM_UP_JOBS_PER_NODE); // JIT, TLS sessions, the links' queues
    return [await mesh.measure(group('production-1'), 1), await mesh.measure(group('production-10'), 10)];
  } finally {
    await mesh.stop();
  }
}
