/**
 * A tiny in-memory cluster for scenario scripts: RawNodes over MemoryStorage, a message queue we
 * deliver explicitly, links we cut and heal, and a record of what every node applied. Each node
 * follows the Ready contract: persist, then send, then apply (conf changes included), then advance.
 */
import {
  MemoryStorage,
  RawNode,
  decodeConfChange,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type RaftConfig,
  type Ready,
  type ReadState,
} from '../../../src/raft/index.js';
import { SeededRandom } from '../../../src/clock/index.js';

export interface NodeOptions {
  electionTick?: number;
  heartbeatTick?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxInflight?: number;
  maxEntriesPerMsg?: number;
  maxBytesPerMsg?: number;
  maxUncommittedBytes?: number;
  maxCommittedBytesPerReady?: number;
  /** Called with every Ready a node produces (before it is handled). */
  onReady?: (id: NodeId, rd: Ready) => void;
}

export interface Peer {
  id: NodeId;
  node: RawNode;
  storage: MemoryStorage;
  /** Payloads of applied normal, non-empty entries, in order (after a snapshot: its contents first). */
  applied: string[];
  readStates: ReadState[];
}

const text = new TextEncoder();
const untext = new TextDecoder();

export class Network {
  readonly peers = new Map<NodeId, Peer>();
  /** Messages sent and not yet delivered, in send order. */
  pending: Message[] = [];
  /** Every message actually delivered, in order: scenarios count and inspect them. */
  readonly delivered: Message[] = [];
  private readonly cut = new Set<string>();
  private readonly down = new Set<NodeId>();
  /** Extra drop rule: return true to drop a message. */
  drop: ((m: Message) => boolean) | undefined;
  /** Rewrite a message in flight (e.g. lose some of its entries). */
  transform: ((m: Message) => Message) | undefined;
  private seed = 1;

  constructor(
    voters: NodeId[],
    readonly options: NodeOptions = {},
  ) {
    for (const id of voters) this.add(id, { voters, learners: [] });
  }

  /** Start a node with empty log whose storage knows `conf` (a member of a new cluster). */
  add(id: NodeId, conf: ConfState, storage = new MemoryStorage(conf)): Peer {
    const peer: Peer = { id, node: this.makeNode(id, storage), storage, applied: [], readStates: [] };
    this.peers.set(id, peer);
    return peer;
  }

  /** Start a joining node: empty, with no configuration; the leader's snapshot teaches it. */
  join(id: NodeId): Peer {
    return this.add(id, { voters: [], learners: [] });
  }

  /** Restart a node from its storage (as after a crash with everything synced). */
  restart(id: NodeId): void {
    const peer = this.peer(id);
    peer.node = this.makeNode(id, peer.storage);
    peer.applied = [];
    const snap = peer.storage.snapshot();
    if (snap.meta.index > 0) peer.applied = decodeState(snap.data);
  }

  private makeNode(id: NodeId, storage: MemoryStorage): RawNode {
    const rnd = new SeededRandom(id * 7919 + this.seed++);
    const config: RaftConfig = {
      id,
      electionTick: this.options.electionTick ?? 10,
      heartbeatTick: this.options.heartbeatTick ?? 1,
      storage,
      random: () => rnd.next(),
      preVote: this.options.preVote,
      checkQuorum: this.options.checkQuorum,
      maxInflight: this.options.maxInflight,
      maxEntriesPerMsg: this.options.maxEntriesPerMsg,
      maxBytesPerMsg: this.options.maxBytesPerMsg,
      maxUncommittedBytes: this.options.maxUncommittedBytes,
      maxCommittedBytesPerReady: this.options.maxCommittedBytesPerReady,
    };
    return new RawNode(config);
  }

  peer(id: NodeId): Peer {
    const p = this.peers.get(id);
    if (!p) throw new Error(`no node ${id}`);
    return p;
  }

  node(id: NodeId): RawNode {
    return this.peer(id).node;
  }

  /** Handle every node's Ready batches; outgoing messages join `pending`. */
  processAll(): void {
    for (const id of this.peers.keys()) if (!this.down.has(id)) this.process(id);
  }

  process(id: NodeId): void {
    const p = this.peer(id);
    while (p.node.hasReady()) {
      const rd = p.node.ready();
      this.options.onReady?.(id, rd);
      if (rd.snapshot) {
        p.storage.applySnapshot(rd.snapshot);
        p.applied = decodeState(rd.snapshot.data);
      }
      p.storage.append(rd.entries);
      if (rd.hardState) p.storage.setHardState(rd.hardState);
      p.storage.sync();
      for (const m of rd.messages) this.pending.push(m);
      for (const e of rd.committedEntries) this.applyEntry(p, e);
      for (const r of rd.readStates) p.readStates.push(r);
      p.node.advance();
    }
  }

  private applyEntry(p: Peer, e: Entry): void {
    if (e.type === 'conf_change') p.node.applyConfChange(decodeConfChange(e.data));
    else if (e.data.length > 0) p.applied.push(untext.decode(e.data));
  }

  private linkOpen(m: Message): boolean {
    if (this.down.has(m.from) || this.down.has(m.to)) return false;
    if (this.cut.has(`${m.from}>${m.to}`)) return false;
    return !this.drop?.(m);
  }

  /** Deliver pending messages (and whatever they cause) until the network is quiet. */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      this.processAll();
      if (this.pending.length === 0) return;
      this.deliverPending();
    }
    throw new Error('network did not stabilize');
  }

  /** Deliver what is pending right now (one hop), without processing the answers. */
  deliverPending(): void {
    const batch = this.pending;
    this.pending = [];
    for (const m of batch) {
      if (!this.linkOpen(m) || !this.peers.has(m.to)) continue;
      const out = this.transform ? this.transform(m) : m;
      this.delivered.push(out);
      this.node(m.to).step(out);
    }
  }

  /** Tick every live node `n` times, letting the network settle after each tick. */
  tick(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const [id, p] of this.peers) if (!this.down.has(id)) p.node.tick();
      this.stabilize();
    }
  }

  /** Tick until some node leads (unique among live nodes), or fail. */
  elect(maxTicks = 200): NodeId {
    for (let i = 0; i < maxTicks; i++) {
      const l = this.leader();
      if (l !== undefined) return l;
      this.tick();
    }
    throw new Error('no leader elected');
  }

  /** The live node that believes it leads at the highest term, if any. */
  leader(): NodeId | undefined {
    let best: NodeId | undefined;
    let bestTerm = -1;
    for (const [id, p] of this.peers) {
      if (this.down.has(id)) continue;
      const s = p.node.status();
      if (s.role === 'leader' && s.term > bestTerm) {
        best = id;
        bestTerm = s.term;
      }
    }
    return best;
  }

  /** Cut every link between `id` and the others (both ways). */
  isolate(id: NodeId): void {
    for (const other of this.peers.keys()) {
      if (other === id) continue;
      this.cutLink(id, other);
      this.cutLink(other, id);
    }
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
    this.down.clear();
    this.drop = undefined;
    this.transform = undefined;
  }

  /** Stop a node: it neither ticks nor receives; messages to it are lost. */
  stop(id: NodeId): void {
    this.down.add(id);
  }

  propose(id: NodeId, payload: string): { index: number; term: number } {
    return this.node(id).propose(text.encode(payload));
  }

  countDelivered(pred: (m: Message) => boolean): number {
    return this.delivered.filter(pred).length;
  }
}

export function encodeState(applied: string[]): Uint8Array {
  return text.encode(JSON.stringify(applied));
}

function decodeState(data: Uint8Array): string[] {
  return data.length === 0 ? [] : (JSON.parse(untext.decode(data)) as string[]);
}

export function payload(e: Entry): string {
  return untext.decode(e.data);
}
