/**
 * The public face of the core: a Raft state machine driven by tick() and step(), whose output is
 * collected as Ready batches. The driver must handle each batch in order (persist snapshot,
 * entries and hard state, fsync; send messages; apply committed entries) and then call advance().
 */
import { Raft } from './raft.js';
import { copyConf, encodeConfChange } from './membership.js';
import type { ConfChange, ConfState, HardState, Message, NodeId, RaftConfig, RaftStatus, Ready, SoftState } from './types.js';

interface InFlightReady {
  lastEntry?: { index: number; term: number };
  snapshotIndex?: number;
  appliedTo?: number;
  hardState?: HardState;
}

export class RawNode {
  private readonly raft: Raft;
  private prevHard: HardState;
  private prevSoft: SoftState;
  private inFlight: InFlightReady | undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevHard = this.hardState();
    this.prevSoft = this.softState();
  }

  tick(): void {
    this.raft.tick();
    this.raft.releaseWaitingReads();
  }

  step(m: Message): void {
    if (m.to !== this.raft.id && m.to !== 0) return;
    this.raft.step(m);
    this.raft.releaseWaitingReads();
  }

  /** Campaign now, without waiting for the election timeout (pre-vote still applies). */
  campaign(): void {
    this.raft.hup(false);
  }

  /** Append `data` to the log. Throws ProposalDroppedError unless this node leads. */
  propose(data: Uint8Array): { index: number; term: number } {
    return this.raft.propose('normal', data);
  }

  /** Propose a membership change; throws ProposalDroppedError if another one is still pending. */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    return this.raft.proposeConfChange(cc, encodeConfChange(cc));
  }

  /** Call after applying a committed conf_change entry: only then does the change take effect. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to);
  }

  /** Ask for a linearizable read point; the answer comes back in Ready.readStates. */
  readIndex(context: string): void {
    this.raft.readIndex(context);
  }

  /** `untickedTicks`: time that has passed but was not ticked yet (the driver was busy). */
  hasQuorumLease(untickedTicks = 0): boolean {
    return this.raft.hasQuorumLease(untickedTicks);
  }

  /** The transport could not reach `id` (connection refused, send failed). */
  reportUnreachable(id: NodeId): void {
    this.raft.reportUnreachable(id);
  }

  /** The transport finished sending a snapshot to `id`, or gave up (`failed`). */
  reportSnapshot(id: NodeId, failed: boolean): void {
    this.raft.reportSnapshot(id, failed);
  }

  hasReady(): boolean {
    const log = this.raft.log;
    if (this.raft.msgs.length > 0 || this.raft.readStates.length > 0) return true;
    if (log.unstableEntries.length > 0 || log.unstableSnapshot !== undefined) return true;
    if (log.hasNextCommitted()) return true;
    // Compared field by field: this runs after every event in the simulator.
    const r = this.raft;
    const h = this.prevHard;
    if (r.term !== h.term || r.vote !== h.vote || log.committed !== h.commit) return true;
    return r.lead !== this.prevSoft.leader || r.role !== this.prevSoft.role;
  }

  ready(): Ready {
    const r = this.raft;
    const log = r.log;
    const entries = log.unstableEntries.slice();
    const committedEntries = log.nextCommitted(r.maxCommittedBytesPerReady);
    const rd: Ready = {
      entries,
      messages: r.msgs,
      committedEntries,
      readStates: r.readStates,
    };
    r.msgs = [];
    r.readStates = [];
    const flight: InFlightReady = {};
    if (log.unstableSnapshot) {
      rd.snapshot = log.unstableSnapshot;
      flight.snapshotIndex = log.unstableSnapshot.meta.index;
    }
    const last = entries[entries.length - 1];
    if (last) flight.lastEntry = { index: last.index, term: last.term };
    if (committedEntries.length > 0) flight.appliedTo = committedEntries[committedEntries.length - 1].index;
    const hs = this.hardState();
    if (!sameHard(hs, this.prevHard)) {
      rd.hardState = hs;
      flight.hardState = hs;
    }
    const ss = this.softState();
    if (!sameSoft(ss, this.prevSoft)) {
      rd.softState = ss;
      this.prevSoft = ss;
    }
    this.inFlight = flight;
    return rd;
  }

  /** The last Ready has been fully handled (persisted, sent, applied). */
  advance(): void {
    const f = this.inFlight;
    if (!f) return;
    this.inFlight = undefined;
    const log = this.raft.log;
    if (f.snapshotIndex !== undefined) {
      log.stableSnapTo(f.snapshotIndex);
      log.appliedTo(f.snapshotIndex);
    }
    if (f.lastEntry) log.stableTo(f.lastEntry.index, f.lastEntry.term);
    if (f.appliedTo !== undefined) log.appliedTo(f.appliedTo);
    if (f.hardState) this.prevHard = f.hardState;
    this.raft.releaseWaitingReads();
  }

  /** The commit index, without building a whole status (asked on every lease check). */
  committed(): number {
    return this.raft.log.committed;
  }

  status(): RaftStatus {
    const r = this.raft;
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      role: r.role,
      leader: r.lead,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      conf: copyConf(r.conf),
      match: r.role === 'leader' ? Object.fromEntries([...r.prs].map(([id, pr]) => [id, pr.match])) : {},
    };
  }

  private hardState(): HardState {
    return { term: this.raft.term, vote: this.raft.vote, commit: this.raft.log.committed };
  }

  private softState(): SoftState {
    return { leader: this.raft.lead, role: this.raft.role };
  }
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}
