/**
 * This node in the cluster: its Raft log under `KICI_DATA_DIR/raft`, its links to the other
 * members on the cluster port, the replicated state, and the leader's chores (keeping the Raft
 * configuration in step with the members, admitting joiners, forwarding proposals made on a
 * follower). A node alone is a cluster of one: it leads at once and opens no port unless
 * KICI_CLUSTER_ADDRESS says where others could reach it.
 */
import path from 'node:path';
import { z } from 'zod';
import type { FailedAuthLimit } from '../../auth-guard/index.js';
import type { ClusterCa, NodeCredentials } from '../../certificates/index.js';
import { systemRandom, type Clock } from '../../clock/index.js';
import {
  clusterCommand,
  ClusterRaft,
  Coordinator,
  Liveness,
  type ClusterCommand,
  type Leadership,
  type Member,
  type Outcome,
  type ShardOwnership,
  type StoredShard,
} from '../../cluster/index.js';
import type { Membership } from '../../membership/index.js';
import { FileStorage } from '../../raft/index.js';
import type { ActorSystem } from '../../actors/index.js';
import { isAgentHostMessage, RUN_ACTOR_KIND } from '../../runs/index.js';
import {
  PeerKinds,
  PeerLinks,
  registerActorKinds,
  registerAgentMeshKinds,
  registerRaftKinds,
  registerWorkerLinkKinds,
  registerMasterKeyKinds,
  type MasterKeyKinds,
  type AgentMeshKinds,
  type JoinSecrets,
  type PeerFaults,
  type PeerIdentity,
  type WorkerLinkKinds,
} from '../../transport/index.js';
import { ActorLinks } from './actor-links.js';
import type { ClusterConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { ClusterGauges } from '../metrics.js';
import { joinDoor, type JoinDoorParts } from './join-door.js';
import { RaftLinks } from './raft-links.js';

export const RAFT_DIR = 'raft';

export interface ClusterNodeParts {
  config: ClusterConfig;
  host: string;
  dataDir: string;
  clock: Clock;
  log: Logger;
  credentials: NodeCredentials;
  membership: Membership;
  /** The CA with its key, on a coordinator that holds it: it admits joiners. */
  ca?: ClusterCa;
  /** What joiners are handed; undefined while the cluster cannot take joiners (PGlite). */
  secrets(): JoinSecrets | undefined;
  tokens: JoinDoorParts['tokens'];
  /** The shard owners PostgreSQL records: where the leader places shards the map does not name yet. */
  storedShards(): Promise<StoredShard[]>;
  authFailures: FailedAuthLimit;
  faults?: PeerFaults;
  onActorForwarded?(): void;
}

/** A proposal made on a follower goes to the leader as this request. */
const proposeRequest = z.object({ commands: z.array(clusterCommand).min(1).max(64) });
const proposeResponse = z.object({ outcomes: z.array(z.union([z.object({ applied: z.literal(true) }), z.object({ applied: z.literal(false), reason: z.string() })])) });
const FORWARD_TIMEOUT_MS = 5_000;
/** Removing a member on the leader: out of the Raft configuration first, then revoked and removed. */
const removeRequest = z.object({ node: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), serials: z.array(z.string().regex(/^[0-9a-f]{1,64}$/)).max(64) });

export class NotLeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotLeaderError';
  }
}

export class ClusterNode {
  readonly raft: ClusterRaft;
  readonly links: PeerLinks;
  /** The kinds agents' dispatch across the mesh travels as (wired by agent-mesh.ts). */
  readonly agentMesh: AgentMeshKinds;
  /** The kinds this coordinator and its edge workers speak (wired by edge-workers.ts). */
  readonly workerLink: WorkerLinkKinds;
  /** The kinds a rotation hands the master key to the other coordinators as (wired by master-key-handover.ts). */
  readonly masterKey: MasterKeyKinds;
  /** The actor system's remote port: messages for actors whose shard another node owns. */
  readonly actors: ActorLinks;
  readonly nodeId: string;
  private readonly storage: FileStorage;
  private readonly wire: RaftLinks;
  /** The leader's chores (the Raft configuration, the shards); they act only while this node leads. */
  private readonly coordinator: Coordinator;
  private readonly forward;
  private readonly forwardRemoval;
  /** Members this leader is removing: the steward leaves them alone meanwhile. */
  private readonly leaving = new Set<string>();
  private closeAgentToken: (tokenId: string) => number = () => 0;
  private readonly known = new Map<string, string>();
  private revokedCount = 0;
  private system: ActorSystem | undefined;
  private readonly liveness: Liveness;
  private stopped = false;

  constructor(private readonly p: ClusterNodeParts) {
    const { membership, config } = p;
    this.nodeId = membership.nodeId;
    this.liveness = new Liveness(membership.nodeId, p.clock, config.peerStaleMs);
    const kinds = new PeerKinds();
    const raftKinds = registerRaftKinds(kinds);
    const actorKinds = registerActorKinds(kinds);
    this.agentMesh = registerAgentMeshKinds(kinds);
    this.workerLink = registerWorkerLinkKinds(kinds);
    this.masterKey = registerMasterKeyKinds(kinds);
    this.forward = kinds.request('cluster.propose', proposeRequest, proposeResponse);
    this.forwardRemoval = kinds.request('cluster.remove_member', removeRequest, proposeResponse);
    this.storage = new FileStorage(path.join(p.dataDir, RAFT_DIR), membership.founder ? { conf: { voters: [membership.raftId], learners: [] } } : {});
    this.links = new PeerLinks({
      credentials: p.credentials,
      kinds,
      listen: config.address ? { host: p.host, port: config.port } : undefined,
      clock: p.clock,
      logger: p.log.child({ room: 'peer-links' }),
      revokedSerials: () => this.raft?.state.revoked() ?? [],
      authFailures: p.authFailures,
      faults: p.faults,
      pingIntervalMs: config.peerHeartbeatMs,
      idleTimeoutMs: config.peerStaleMs,
      maxReconnectDelayMs: config.maxReconnectDelayMs,
      join: p.ca ? this.joinDoor(p.ca) : undefined,
    });
    this.actors = new ActorLinks({
      links: this.links,
      kinds: actorKinds,
      nodeId: this.nodeId,
      clock: p.clock,
      system: () => this.system,
      trusted: (from) => this.isCurrentMember(from),
      // An edge worker hosts agents and owns no run: it tells runs what its agents report, nothing else.
      admits: (from, message) => from.role === 'coordinator' || (message.kind === RUN_ACTOR_KIND && isAgentHostMessage(message.msg)),
      onForwarded: p.onActorForwarded,
      onUndelivered: (e, err) => p.log.warn({ kind: e.kind, key: e.key, err: err.message }, 'actor message not delivered to another node'),
    });
    this.wire = new RaftLinks({
      links: this.links,
      kinds: raftKinds,
      peers: { nodeOf: (id) => this.nodeOf(id), raftIdOf: (node) => this.raftIdOf(node) },
      clock: p.clock,
      onBadChunk: (from, e) => p.log.warn({ peer: from, err: e.message }, 'bad snapshot chunk'),
      // Edge workers are members (with a Raft id) but never voters: no vote, no log entry from them.
      trusted: (from) => from.role === 'coordinator' && this.isCurrentMember(from),
    });
    this.raft = new ClusterRaft({
      raftId: membership.raftId,
      storage: this.storage,
      clock: p.clock,
      random: () => systemRandom.next(),
      timing: config.raft,
      send: this.wire.send,
      onFatal: (e) => p.log.fatal({ err: e.message }, 'the Raft log cannot be written: this node stops taking part in the cluster'),
      onListenerError: (e) => p.log.error({ err: e.message }, 'a reaction to the cluster state failed'),
    });
    this.wire.attach(this.raft);
    this.coordinator = new Coordinator({
      nodeId: this.nodeId,
      raft: this.raft,
      clock: p.clock,
      log: p.log,
      choreEveryMs: config.raft.heartbeatMs * 4,
      rebalanceShardsPerSecond: config.rebalanceShardsPerSecond,
      alive: (node) => this.isAlive(node),
      storedShards: () => p.storedShards(),
      admit: () => this.recordSelf(),
      leaving: (node) => this.leaving.has(node),
      staleMs: config.peerStaleMs,
      linkUp: (node) => this.links.isUp(node),
    });
    this.links.handle(this.forward, async (from, body) => {
      // Workers hold no vote and no say over the cluster's state: only coordinators propose.
      if (from.role !== 'coordinator' || !this.isCurrentMember(from)) throw new Error('only coordinators that are members propose');
      if (this.raft.status().role !== 'leader') throw new Error('not the leader');
      p.log.info({ from: from.nodeId, commands: body.commands.map((c) => c.type) }, 'proposing for a member');
      return { outcomes: await this.proposeHere(body.commands) };
    });
    this.links.handle(this.forwardRemoval, async (from, body) => {
      if (from.role !== 'coordinator' || !this.isCurrentMember(from)) throw new Error('only coordinators that are members remove members');
      if (this.raft.status().role !== 'leader') throw new Error('not the leader');
      return { outcomes: await this.removeHere(body.node, body.serials) };
    });
    this.links.handle(this.agentMesh.tokenRevoked, (from, body) => ({ disconnected: from.role === 'coordinator' && this.isCurrentMember(from) ? this.closeAgentToken(body.tokenId) : 0 }));
    this.raft.onApplied(() => this.stateChanged());
    this.links.on('peerDown', (e) => {
      this.liveness.linkDown(e.nodeId);
      this.coordinator.linkDown(e.nodeId);
    });
    this.links.on('peerUp', (e) => {
      this.liveness.linkUp(e.nodeId);
      this.coordinator.linkUp(e.nodeId);
    });
    for (const m of membership.members) if (m.node !== this.nodeId && m.address !== '') this.known.set(m.node, m.address);
  }

  /** The node's actor system, which the actor links deliver to (built after this node: it takes `actors`). */
  attachActors(system: ActorSystem): void {
    this.system = system;
  }

  /** How this node closes the sockets of agents using a revoked token (its agent hub). */
  onAgentTokenRevoked(close: (tokenId: string) => number): void {
    this.closeAgentToken = close;
  }

  /**
   * Tell every member this node has a link to that an agent token was revoked; resolves with how
   * many agent sockets they closed. A member out of reach closes its own at its agents' next
   * authentication (the token is revoked in the database they share).
   */
  async revokeAgentTokenElsewhere(tokenId: string): Promise<number> {
    const asked = this.links.connectedPeers().map((peer) => this.links.request(peer.nodeId, this.agentMesh.tokenRevoked, { tokenId }, { timeoutMs: FORWARD_TIMEOUT_MS }));
    const answers = await Promise.allSettled(asked);
    return answers.reduce((sum, a) => sum + (a.status === 'fulfilled' ? a.value.disconnected : 0), 0);
  }

  /** Open the cluster port (when configured), dial the known members, and start the chores. */
  async start(): Promise<{ host: string; port: number } | undefined> {
    const bound = await this.links.start();
    this.stateChanged();
    for (const [node, address] of this.known) this.dial(node, address);
    this.coordinator.start();
    return bound;
  }

  leadership(): Leadership {
    return this.raft.leadership();
  }

  /** Resolves once a leader is known (at once on a cluster of one), or after `ms`. */
  settled(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.raft.status().leader !== 0) return resolve(true);
      const cancel = this.p.clock.setTimer(ms, () => {
        off();
        resolve(false);
      });
      const off = this.raft.leadership().onChange(() => {
        if (this.raft.status().leader === 0) return;
        cancel();
        off();
        resolve(true);
      });
    });
  }

  /** Why this node should not take traffic now, or undefined when it is part of a working quorum. */
  unreadyReason(): string | undefined {
    if (this.raft.failure()) return 'the Raft log cannot be written';
    const status = this.raft.status();
    if (status.leader === 0) return 'no leader: this node is out of quorum (a partition, or too few coordinators are up)';
    if (status.leader === status.id) return this.raft.leadership().isLeader() ? undefined : 'leading without a quorum behind it';
    const leaderNode = this.nodeOf(status.leader);
    if (!leaderNode || !this.links.isUp(leaderNode)) return 'the leader is out of reach: this node is out of quorum';
    return undefined;
  }

  /** The leader's node id and address, when known. */
  leader(): { node: string; address: string } | undefined {
    const id = this.raft.status().leader;
    const m = id ? this.raft.state.memberByRaftId(id) : undefined;
    return m ? { node: m.node, address: m.address } : undefined;
  }

  /** What the cluster metrics read. */
  gauges(): ClusterGauges {
    return {
      status: () => this.raft.status(),
      peersConnected: () => this.links.connectedPeers().length,
      onLeaderChange: (listener) => {
        let last = this.raft.status().leader;
        return this.raft.leadership().onChange(() => {
          const now = this.raft.status().leader;
          if (now !== last && now !== 0) listener();
          last = now;
        });
      },
      onPeerRefused: (listener) => this.links.on('refused', () => listener()),
    };
  }

  /**
   * Remove a member for good, on the leader wherever it is: out of the Raft configuration first,
   * while its link is still up and it can still acknowledge (cutting it first could leave the
   * configuration change without a quorum), then its certificates revoked and its record removed,
   * which cuts its links everywhere. Resolves with the outcomes of the two proposals.
   */
  async removeMember(node: string, serials: string[]): Promise<Outcome[]> {
    if (this.raft.status().role === 'leader') return this.removeHere(node, serials);
    const leader = this.leader();
    if (!leader) throw new NotLeaderError('the cluster has no leader right now (out of quorum); try again');
    return (await this.links.request(leader.node, this.forwardRemoval, { node, serials }, { timeoutMs: FORWARD_TIMEOUT_MS })).outcomes;
  }

  private async removeHere(node: string, serials: string[]): Promise<Outcome[]> {
    const member = this.raft.state.member(node);
    const { voters, learners } = this.raft.status().conf;
    this.leaving.add(node);
    try {
      if (member && [...voters, ...learners].includes(member.raftId)) await this.raft.remove(member.raftId);
      return await this.proposeHere([...serials.map((serial) => ({ type: 'certificate_revoked' as const, serial })), { type: 'member_removed', node }]);
    } finally {
      this.leaving.delete(node);
    }
  }

  members(): Member[] {
    return this.raft.state.memberList();
  }

  isConnected(node: string): boolean {
    return node === this.nodeId || this.links.isUp(node);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.coordinator.stop();
    this.raft.stop();
    this.wire.close();
    this.actors.close();
    await this.links.close();
    this.storage.close();
  }

  private async proposeHere(commands: ClusterCommand[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (const c of commands) {
      const done = await this.raft.propose(c);
      outcomes.push(done.applied ? { applied: true } : { applied: false, reason: done.reason });
    }
    return outcomes;
  }

  /** Called with the replicated shard map after each change applied (and once at start). */
  onShardMap(listener: (map: ReadonlyMap<number, ShardOwnership>) => void): void {
    this.raft.onApplied(() => listener(this.raft.state.shardOwners()));
    listener(this.raft.state.shardOwners());
  }

  /**
   * On the leader: place every shard the map does not name and a dead coordinator's shards at
   * once, then even out the live coordinators a few at a time (see cluster/coordinator.ts).
   */
  placeShards(): Promise<void> {
    return this.coordinator.placeShards();
  }

  private isAlive(node: string): boolean {
    return this.liveness.alive(node, this.links.isUp(node));
  }

  /** The founder proposes itself as the first member; any member's new address is recorded. */
  private async recordSelf(): Promise<void> {
    const self = this.raft.state.member(this.nodeId);
    const address = this.p.config.address ?? `localhost:${this.p.config.port}`;
    if (!self) {
      const serial = this.p.credentials.identity.serial;
      await this.raft.propose({ type: 'member_added', node: this.nodeId, raftId: this.p.membership.raftId, address, role: 'coordinator', certificateSerial: serial });
    } else if (this.p.config.address && self.address !== this.p.config.address) {
      await this.raft.propose({ type: 'member_address', node: this.nodeId, address: this.p.config.address });
    }
  }

  /** Keep the links in step with the members, and cut whoever was revoked. */
  private stateChanged(): void {
    if (this.stopped) return;
    const members = this.raft.state.memberList();
    const present = new Set(members.map((m) => m.node));
    for (const m of members) {
      // Edge workers dial in (they may sit behind NAT); coordinators are dialled.
      if (m.node === this.nodeId || m.role === 'worker' || this.known.get(m.node) === m.address) continue;
      this.known.set(m.node, m.address);
      this.dial(m.node, m.address);
    }
    const revoked = this.raft.state.revoked().length;
    if (revoked !== this.revokedCount) {
      this.revokedCount = revoked;
      const cut = this.links.revocationsChanged();
      if (cut.length) this.p.log.warn({ peers: cut }, 'revoked peers cut off');
    }
    // Members removed from the state: forget them, unless they are bootstrap entries not yet applied.
    if (members.length === 0) return;
    for (const node of [...this.known.keys()]) {
      if (present.has(node)) continue;
      this.known.delete(node);
      this.links.removePeer(node);
    }
  }

  /** This node's certificate and key (what is sealed to this node opens with it). */
  get credentials(): NodeCredentials {
    return this.p.credentials;
  }

  /** The other coordinators that are members now (edge workers hold no master key). */
  otherCoordinators(): string[] {
    return this.raft.state.memberList().filter((m) => m.role === 'coordinator' && m.node !== this.nodeId).map((m) => m.node);
  }

  /**
   * Is this certificate the one a current member was admitted with? The CA alone is not enough:
   * every coordinator holds the CA key, so a revoked one could mint itself another certificate.
   * Before this node has learned any member (a joiner catching up) the CA's word is all it has.
   */
  /** Is this link's certificate a current member's own? (Messages from any other are refused.) */
  trusts(from: PeerIdentity): boolean {
    return this.isCurrentMember(from);
  }

  private isCurrentMember(from: PeerIdentity): boolean {
    // Asked for every frame that arrives: no copies of the member list here.
    if (this.raft.state.memberCount() === 0) return true;
    const serial = this.raft.state.member(from.nodeId)?.certificateSerial;
    return serial !== undefined && serial === from.serial;
  }

  /** A member's address that cannot be dialled is logged, never thrown into Raft's apply loop. */
  private dial(node: string, address: string): void {
    try {
      this.links.addPeer(node, address);
    } catch (e) {
      this.p.log.error({ peer: node, address, err: (e as Error).message }, 'a member\'s address cannot be dialled');
    }
  }

  private nodeOf(raftId: number): string | undefined {
    return this.raft?.state.memberByRaftId(raftId)?.node ?? this.p.membership.members.find((m) => m.raftId === raftId)?.node;
  }

  private raftIdOf(node: string): number | undefined {
    return this.raft?.state.member(node)?.raftId ?? this.p.membership.members.find((m) => m.node === node)?.raftId;
  }

  private joinDoor(ca: ClusterCa) {
    return joinDoor({
      clusterId: this.p.membership.clusterId,
      ca,
      raft: { propose: (c) => this.raft.propose(c), status: () => this.raft.status(), state: () => this.raft.state },
      tokens: this.p.tokens,
      leaderAddress: () => this.leader()?.address,
      secrets: () => this.p.secrets(),
      clock: this.p.clock,
      log: this.p.log,
    });
  }
}
