/**
 * The safety checker. It is fed what the nodes do, event by event, and keeps just enough global
 * history to check each Raft safety property incrementally (cheap enough to run after every event):
 *
 * - election safety: at most one leader per term (every (term → leader) ever seen is recorded);
 * - vote safety: a node grants at most one vote per term (seen on the wire, so a vote lost from
 *   a node's disk before it was sent does not count);
 * - log matching: an (index, term) pair seen in any node's persisted log always carries the same
 *   entry and the same previous term, which by induction makes the whole prefixes equal;
 * - leader completeness: every committed entry is in the log of every later leader, checked when a
 *   node becomes leader and again whenever a new entry is learned committed;
 * - state machine safety: every node applies indexes in order and each index holds the same entry
 *   everywhere, so every applied sequence is a prefix of every other; no proposal is applied twice.
 */
import type { Entry, NodeId } from '../types.js';

/** What the checker reads of a node's persisted log. */
export interface LogView {
  firstIndex(): number;
  lastIndex(): number;
  term(i: number): number;
}

export interface Violation {
  at: number;
  property: string;
  detail: string;
}

interface Slot {
  term: number;
  print: string;
  prevTerm: number;
}

export class SafetyChecker {
  readonly violations: Violation[] = [];
  /** term → the leader seen in that term. */
  readonly leaderOfTerm = new Map<number, NodeId>();
  /** Per log index, every distinct (term, entry, previous term) seen in a persisted log. */
  private readonly slots: Slot[][] = [];
  /**
   * The global applied sequence: committed[i] is the entry every node must apply at index i, and
   * `by` the term of the first node seen applying it. The entry was committed in that term or an
   * earlier one (whoever applies first learned the commit from a leader of at most its own term),
   * so leaders of later terms must hold it.
   */
  private readonly committed: { term: number; print: string; by: number }[] = [{ term: 0, print: '', by: 0 }];
  /** digest[i] is the running digest of the applied sequence up to index i (for snapshots). */
  private readonly digests: number[] = [0];
  private readonly indexOfProposal = new Map<string, number>();
  private readonly applied = new Map<NodeId, { index: number; digest: number }>();
  private readonly leaders = new Map<NodeId, { term: number; log: LogView }>();
  /** `${node}/${term}` → the candidate the node granted its vote to in that term. */
  private readonly votes = new Map<string, NodeId>();

  constructor(private readonly now: () => number) {}

  get ok(): boolean {
    return this.violations.length === 0;
  }

  /** Highest index known committed (applied by at least one node). */
  get committedIndex(): number {
    return this.committed.length - 1;
  }

  /** The global digest of the applied sequence up to `index`. */
  digestAt(index: number): number | undefined {
    return this.digests[index];
  }

  /** A node persisted `entries`; `prevTerm` is the term of its entry just before them (-1: unknown). */
  onPersist(node: NodeId, entries: readonly Entry[], prevTerm: number): void {
    let prev = prevTerm;
    for (const e of entries) {
      const print = fingerprint(e);
      const list = (this.slots[e.index] ??= []);
      const same = list.find((s) => s.term === e.term);
      if (same === undefined) {
        list.push({ term: e.term, print, prevTerm: prev });
      } else {
        if (same.print !== print) {
          this.fail('log matching', `node ${node} index ${e.index} term ${e.term} holds ${show(print)}, another log holds ${show(same.print)}`);
        }
        if (prev >= 0 && same.prevTerm >= 0 && same.prevTerm !== prev) {
          this.fail('log matching', `node ${node} index ${e.index} term ${e.term} follows term ${prev}, another log has term ${same.prevTerm} before it`);
        }
        if (same.prevTerm < 0) same.prevTerm = prev;
      }
      prev = e.term;
    }
  }

  /** A node became leader of `term`; `log` is its persisted log at that moment. */
  onLeader(node: NodeId, term: number, log: LogView): void {
    const seen = this.leaderOfTerm.get(term);
    if (seen !== undefined && seen !== node) {
      this.fail('election safety', `nodes ${seen} and ${node} both leaders in term ${term}`);
    } else {
      this.leaderOfTerm.set(term, node);
    }
    this.leaders.set(node, { term, log });
    for (let i = 1; i < this.committed.length; i++) this.checkHolds(node, term, log, i);
  }

  /**
   * A node sent a granted vote (not a pre-vote) to `candidate` in `term`. A node votes once per
   * term: a second, different vote means it forgot the first (its hard state was lost).
   */
  onVoteGranted(node: NodeId, term: number, candidate: NodeId): void {
    const key = `${node}/${term}`;
    const before = this.votes.get(key);
    if (before === undefined) this.votes.set(key, candidate);
    else if (before !== candidate) this.fail('vote safety', `node ${node} voted for both ${before} and ${candidate} in term ${term}`);
  }

  /** A node stopped leading (stepped down, crashed or paused past its term). */
  onNotLeader(node: NodeId): void {
    this.leaders.delete(node);
  }

  /** A node (re)started with a state machine restored from its snapshot at `index`. */
  onRestart(node: NodeId, index: number, digest: number): void {
    this.leaders.delete(node);
    this.restore(node, index, digest);
  }

  /** A node replaced its state machine with a snapshot at `index` received from a leader. */
  onSnapshotApplied(node: NodeId, index: number, digest: number): void {
    this.restore(node, index, digest);
  }

  /** A node, currently in `term`, applied one committed entry. */
  onApply(node: NodeId, e: Entry, term = e.term): void {
    const mine = this.applied.get(node) ?? { index: 0, digest: 0 };
    if (e.index !== mine.index + 1) {
      this.fail('state machine safety', `node ${node} applied index ${e.index} right after ${mine.index}`);
    }
    const print = fingerprint(e);
    const known = this.committed[e.index];
    if (known === undefined) {
      if (e.index !== this.committed.length) {
        this.fail('state machine safety', `node ${node} applied index ${e.index} before anyone applied ${this.committed.length}`);
      }
      this.learnCommitted(e, print, Math.max(term, e.term));
    } else if (known.term !== e.term || known.print !== print) {
      this.fail('state machine safety', `node ${node} applied ${show(print)} (term ${e.term}) at index ${e.index}, others applied ${show(known.print)} (term ${known.term})`);
    }
    this.applied.set(node, { index: e.index, digest: chain(mine.digest, print) });
  }

  /** The node's applied index and state-machine digest, as a snapshot would record them. */
  appliedOf(node: NodeId): { index: number; digest: number } {
    return this.applied.get(node) ?? { index: 0, digest: 0 };
  }

  /** Record a violation found outside the checker (liveness, bounds). */
  fail(property: string, detail: string): void {
    this.violations.push({ at: this.now(), property, detail });
  }

  private restore(node: NodeId, index: number, digest: number): void {
    const expected = this.digests[index];
    if (index > 0 && expected !== undefined && expected !== digest) {
      this.fail('state machine safety', `node ${node} restored a state at index ${index} that differs from the applied sequence`);
    }
    this.applied.set(node, { index, digest });
  }

  private learnCommitted(e: Entry, print: string, by: number): void {
    this.committed.push({ term: e.term, print, by });
    this.digests.push(chain(this.digests[this.digests.length - 1], print));
    if (e.type === 'normal' && e.data.length > 0) {
      const other = this.indexOfProposal.get(print);
      if (other !== undefined) this.fail('state machine safety', `${show(print)} applied at both index ${other} and ${e.index}`);
      else this.indexOfProposal.set(print, e.index);
    }
    for (const [leader, { term, log }] of this.leaders) {
      if (term > by) this.checkHolds(leader, term, log, e.index);
    }
  }

  /** Leader completeness for one committed index. */
  private checkHolds(node: NodeId, term: number, log: LogView, i: number): void {
    const want = this.committed[i];
    if (want.by >= term) return;
    if (i < log.firstIndex()) return; // inside the leader's snapshot: committed state, so present
    if (i > log.lastIndex()) {
      this.fail('leader completeness', `leader ${node} of term ${term} lacks committed index ${i} (its log ends at ${log.lastIndex()})`);
      return;
    }
    const t = log.term(i);
    if (t !== want.term) {
      this.fail('leader completeness', `leader ${node} of term ${term} has term ${t} at committed index ${i}, committed term is ${want.term}`);
    }
  }
}

/** A printable identity of an entry's content. */
export function fingerprint(e: Entry): string {
  let s = e.type === 'normal' ? 'n:' : 'c:';
  const d = e.data;
  // A client proposal is its id padded with zeros (state-machine.ts): the id and length name it.
  let end = d.length;
  if (e.type === 'normal') {
    const zero = d.indexOf(0);
    if (zero >= 0) end = zero;
  }
  for (let i = 0; i < end; i++) s += String.fromCharCode(d[i]);
  if (end < d.length) s += `/${d.length}`;
  return s;
}

/** FNV-1a over the previous digest and the entry's fingerprint. */
export function chain(prev: number, print: string): number {
  let h = (prev ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < print.length; i++) h = Math.imul(h ^ print.charCodeAt(i), 0x01000193) >>> 0;
  return Math.imul(h ^ print.length, 0x01000193) >>> 0;
}

function show(print: string): string {
  if (print === 'n:') return 'the empty entry';
  return JSON.stringify(print.length > 40 ? print.slice(0, 40) + '…' : print);
}
