/**
 * The role logic: follower, pre-candidate, candidate, leader, and how each handles messages and
 * ticks. Pure: no clock (time is `tick()`), no I/O (output is `msgs` plus log changes), randomness
 * only from config.random. RawNode wraps this with the Ready/advance protocol.
 */
import { RaftLog } from './log.js';
import { Progress } from './progress.js';
import { committedIndex, hasQuorum, voteResult } from './quorum.js';
import { ReadIndexQueue } from './read-index.js';
import { applyChange, copyConf, emptyConf, isVoter, refusal } from './membership.js';
import {
  NONE,
  ProposalDroppedError,
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type MessageType,
  type NodeId,
  type RaftConfig,
  type ReadState,
  type Role,
  type Snapshot,
} from './types.js';

/** Marks a vote request that comes from a leadership transfer: it may disturb a live leader. */
export const TRANSFER_CONTEXT = 'transfer';

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  role: Role = 'follower';
  lead: NodeId = NONE;
  readonly log: RaftLog;
  conf: ConfState;
  readonly prs = new Map<NodeId, Progress>();
  msgs: Message[] = [];
  readStates: ReadState[] = [];

  private readonly electionTimeout: number;
  private readonly heartbeatTimeout: number;
  private randomizedElectionTimeout = 0;
  /** How many ticks the election timeout is spread over, above electionTimeout. */
  private readonly electionSpread: number;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  /** Ticks since this node became leader: the time base for check-quorum and the lease. */
  private leaderTicks = 0;
  /** How many ticks after a heartbeat was sent its answer still vouches for our lease. */
  private readonly leaseTicks: number;
  /**
   * Set when a leadership transfer starts: the transferee's forced campaign (even one sent late)
   * overrides the followers' promises, so no lease can be believed again in this term.
   */
  private leaseForfeited = false;
  private readonly votes = new Map<NodeId, boolean>();
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxInflight: number;
  private readonly maxEntriesPerMsg: number;
  private readonly maxBytesPerMsg: number;
  private readonly maxUncommittedBytes: number;
  readonly maxCommittedBytesPerReady: number;
  /** Data bytes this leader appended that are not committed yet (see maxUncommittedBytes). */
  private uncommittedBytes = 0;
  private readonly random: () => number;
  leadTransferee: NodeId = NONE;
  /** Index of the latest conf change in the log; another may be proposed once it is applied. */
  pendingConfIndex = 0;
  /**
   * Set when this leader applies its own removal: the commit index the remaining voters must
   * know before it hands over (see applyConfChange). 0 otherwise.
   */
  private removedAt = 0;
  private readonly reads = new ReadIndexQueue();
  /**
   * A restarted node may have promised a leader, just before going down, not to vote for anyone
   * else for an election timeout. It forgot who, so it keeps that promise to everyone.
   */
  private quietAfterRestart = false;

  constructor(config: RaftConfig) {
    if (!(config.id > 0)) throw new Error('raft: id must be a positive integer');
    if (!(config.heartbeatTick > 0) || !(config.electionTick > config.heartbeatTick)) {
      throw new Error('raft: need 0 < heartbeatTick < electionTick');
    }
    const electionTickMax = config.electionTickMax ?? 2 * config.electionTick;
    if (!Number.isInteger(electionTickMax) || electionTickMax <= config.electionTick) throw new Error('raft: need electionTick < electionTickMax');
    this.electionSpread = electionTickMax - config.electionTick;
    this.id = config.id;
    this.electionTimeout = config.electionTick;
    this.heartbeatTimeout = config.heartbeatTick;
    this.preVote = config.preVote ?? true;
    this.checkQuorum = config.checkQuorum ?? true;
    this.maxInflight = config.maxInflight ?? 256;
    this.maxEntriesPerMsg = config.maxEntriesPerMsg ?? 64;
    this.maxBytesPerMsg = config.maxBytesPerMsg ?? 1024 * 1024;
    this.maxUncommittedBytes = config.maxUncommittedBytes ?? 64 * 1024 * 1024;
    this.maxCommittedBytesPerReady = config.maxCommittedBytesPerReady ?? 16 * 1024 * 1024;
    this.random = config.random;
    this.leaseTicks = leaseTicksFor(config.electionTick, config.maxClockDrift ?? 0.1);
    this.log = new RaftLog(config.storage);
    const { hardState, confState } = config.storage.initialState();
    this.conf = { ...emptyConf(), ...copyConf(confState) };
    this.term = hardState.term;
    this.vote = hardState.vote;
    // Clamped: a log cut short by a torn write must not make the node refuse to start.
    this.log.commitTo(Math.min(hardState.commit, this.log.lastIndex()));
    if (config.applied !== undefined && config.applied > this.log.applied) {
      this.log.appliedTo(Math.min(config.applied, this.log.committed));
    }
    this.rebuildProgress();
    this.becomeFollower(this.term, NONE);
    this.quietAfterRestart = this.checkQuorum && hardState.term > 0;
  }

  // ---- roles ---------------------------------------------------------------------------------

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.random() * this.electionSpread);
    this.abortLeaderTransfer();
    this.votes.clear();
    const last = this.log.lastIndex();
    for (const [id, pr] of this.prs) {
      pr.becomeProbe();
      pr.match = id === this.id ? last : 0;
      pr.next = last + 1;
      pr.lastHeard = 0;
      pr.leaseFrom = -Infinity;
      pr.commit = 0;
    }
    this.removedAt = 0;
    this.pendingConfIndex = 0;
    this.quietAfterRestart = false;
    this.leaderTicks = 0;
    this.leaseForfeited = false;
    this.uncommittedBytes = 0;
    this.reads.clear();
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    // Term and vote stay: a pre-vote round changes nothing durable.
    this.votes.clear();
    this.lead = NONE;
    this.quietAfterRestart = false;
    this.role = 'pre_candidate';
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    for (const pr of this.prs.values()) pr.lastHeard = 0;
    const self = this.prs.get(this.id);
    if (self) self.becomeReplicate();
    // Conservative: an unapplied conf change may sit anywhere in our log.
    this.pendingConfIndex = this.log.lastIndex();
    // An empty entry of our own term lets us commit (and so learn the commit index) promptly.
    this.appendEntries([{ term: 0, index: 0, type: 'normal', data: EMPTY }]);
  }

  promotable(): boolean {
    return isVoter(this.conf, this.id);
  }

  /** A joiner starts with no configuration at all and learns it from the leader's snapshot. */
  initialized(): boolean {
    return this.conf.voters.length > 0;
  }

  // ---- time ----------------------------------------------------------------------------------

  tick(): void {
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) this.quietAfterRestart = false;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    this.leaderTicks++;
    const self = this.prs.get(this.id);
    if (self) self.lastHeard = this.leaderTicks;
    if (this.checkQuorum && !this.quorumHeardWithin(this.electionTimeout)) {
      this.becomeFollower(this.term, NONE);
      return;
    }
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      this.abortLeaderTransfer();
    }
    this.tickSnapshots();
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(undefined);
      this.resendTimeoutNow();
    }
  }

  /** A lost `timeout_now` must not leave a transfer hanging until it times out. */
  private resendTimeoutNow(): void {
    const to = this.leadTransferee;
    if (to !== NONE && this.prs.get(to)?.match === this.log.lastIndex()) this.sendTimeoutNow(to);
  }

  /** A snapshot that got lost must not park a follower forever: fall back to probing. */
  private tickSnapshots(): void {
    for (const pr of this.prs.values()) {
      if (pr.state !== 'snapshot') continue;
      if (++pr.snapshotElapsed >= this.electionTimeout) pr.becomeProbe();
    }
  }

  private quorumHeardWithin(ticks: number): boolean {
    const now = this.leaderTicks;
    return hasQuorum(this.conf.voters, (id) => {
      if (id === this.id) return true;
      const pr = this.prs.get(id);
      return pr !== undefined && now - pr.lastHeard < ticks;
    });
  }

  /**
   * True while a quorum of voters is known to refuse other candidates: each answered a heartbeat
   * we sent less than `leaseTicks` ago. A follower refuses votes until a full election timeout of
   * its own ticks has passed since it received the heartbeat; its first tick may come at once
   * (its ticks run at their own phase), so the promise lasts at least electionTick - 1 ticks from
   * the send, shortened further by how much faster its clock may run than ours (see leaseTicksFor).
   * This holds only if ticks follow elapsed time (the driver catches up ticks before asking).
   */
  hasQuorumLease(untickedTicks = 0): boolean {
    if (this.role !== 'leader' || !this.checkQuorum || this.leaseForfeited) return false;
    if (!isVoter(this.conf, this.id)) return false;
    // Until an entry of our term commits, our state may lack writes the last leader acknowledged.
    if (this.log.term(this.log.committed) !== this.term) return false;
    const now = this.leaderTicks + untickedTicks;
    return hasQuorum(this.conf.voters, (id) => {
      if (id === this.id) return true;
      const pr = this.prs.get(id);
      return pr !== undefined && now - pr.leaseFrom < this.leaseTicks;
    });
  }

  // ---- elections -----------------------------------------------------------------------------

  /** Start an election (pre-vote first unless a transfer asked us to hurry). */
  hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    // A committed but unapplied conf change could remove us; wait until it is applied.
    if (this.hasUnappliedConfChange()) return;
    if (this.preVote && !transfer) this.campaign('prevote', false);
    else this.campaign('vote', transfer);
  }

  private hasUnappliedConfChange(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    const ents = this.log.slice(this.log.applied + 1, this.log.committed + 1) ?? [];
    return ents.some((e) => e.type === 'conf_change');
  }

  private campaign(kind: 'prevote' | 'vote', transfer: boolean): void {
    let term: number;
    if (kind === 'prevote') {
      this.becomePreCandidate();
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      term = this.term;
    }
    if (this.poll(this.id, true) === 'won') {
      if (kind === 'prevote') this.campaign('vote', false);
      else this.becomeLeader();
      return;
    }
    const index = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    for (const id of this.conf.voters) {
      if (id === this.id) continue;
      const m: Message = { type: kind, from: this.id, to: id, term, index, logTerm };
      if (transfer) m.context = TRANSFER_CONTEXT;
      this.msgs.push(m);
    }
  }

  private poll(id: NodeId, granted: boolean) {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return voteResult(this.conf.voters, this.votes);
  }

  // ---- messages ------------------------------------------------------------------------------

  step(m: Message): void {
    if (m.term > this.term) {
      if (!this.stepHigherTerm(m)) return;
    } else if (m.term < this.term) {
      this.stepLowerTerm(m);
      return;
    }
    switch (m.type) {
      case 'prevote':
      case 'vote':
        this.handleVoteRequest(m);
        return;
    }
    if (this.role === 'leader') this.stepLeader(m);
    else if (this.role === 'follower') this.stepFollower(m);
    else this.stepCandidate(m);
  }

  /** Returns false when the message must be ignored. */
  private stepHigherTerm(m: Message): boolean {
    if (m.type === 'prevote' || m.type === 'vote') {
      const force = m.context === TRANSFER_CONTEXT;
      // We heard from a live leader recently: this candidate is partitioned or late. Ignore it.
      const promised = this.lead !== NONE || this.quietAfterRestart;
      const inLease = this.checkQuorum && promised && this.electionElapsed < this.electionTimeout;
      if (!force && inLease) return false;
    }
    if (m.type === 'prevote') return true; // a pre-vote never changes our term
    if (m.type === 'prevote_resp' && !m.reject) return true; // the term is the one we would campaign at
    const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
    this.becomeFollower(m.term, fromLeader ? m.from : NONE);
    return true;
  }

  private stepLowerTerm(m: Message): void {
    if ((this.checkQuorum || this.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
      // A stale leader (e.g. behind a healed partition) learns our term from this and steps down.
      this.send({ type: 'append_resp', from: this.id, to: m.from, term: this.term });
    } else if (m.type === 'prevote') {
      this.send({ type: 'prevote_resp', from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  private handleVoteRequest(m: Message): void {
    const respType: MessageType = m.type === 'prevote' ? 'prevote_resp' : 'vote_resp';
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === 'prevote' && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.index ?? 0, m.logTerm ?? 0)) {
      // Answer at the candidate's term: a pre-vote grant must not look stale to it.
      this.send({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case 'timeout_now':
        // The leader hands over to us: campaign at once, even against its lease.
        this.hup(true);
        return;
    }
  }

  private stepCandidate(m: Message): void {
    const respType: MessageType = this.role === 'pre_candidate' ? 'prevote_resp' : 'vote_resp';
    switch (m.type) {
      case 'append':
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
    }
    if (m.type !== respType) return;
    const result = this.poll(m.from, !m.reject);
    if (result === 'won') {
      if (this.role === 'pre_candidate') this.campaign('vote', false);
      else {
        this.becomeLeader();
        this.bcastAppend();
      }
    } else if (result === 'lost') {
      this.becomeFollower(this.term, NONE);
    }
  }

  private stepLeader(m: Message): void {
    const pr = this.prs.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case 'append_resp':
        pr.lastHeard = this.leaderTicks;
        this.handleAppendResp(m, pr);
        return;
      case 'heartbeat_resp':
        pr.lastHeard = this.leaderTicks;
        this.handleHeartbeatResp(m, pr);
        return;
    }
  }

  // ---- follower side of replication ----------------------------------------------------------

  private handleAppend(m: Message): void {
    const index = m.index ?? 0;
    if (!this.initialized()) {
      // Replaying the log needs the membership it started from, which only a snapshot carries.
      this.send({ type: 'append_resp', from: this.id, to: m.from, term: this.term, index, reject: true, needSnapshot: true });
      return;
    }
    if (index < this.log.committed) {
      this.send({ type: 'append_resp', from: this.id, to: m.from, term: this.term, index: this.log.committed });
      return;
    }
    const lastNew = this.log.maybeAppend(index, m.logTerm ?? 0, m.commit ?? 0, m.entries ?? NO_ENTRIES);
    if (lastNew !== undefined) {
      this.send({ type: 'append_resp', from: this.id, to: m.from, term: this.term, index: lastNew });
      return;
    }
    // Tell the leader where our log could match, so it skips a whole divergent term per round trip.
    const hint = this.log.findConflictByTerm(Math.min(index, this.log.lastIndex()), m.logTerm ?? 0);
    this.send({
      type: 'append_resp',
      from: this.id,
      to: m.from,
      term: this.term,
      index,
      reject: true,
      rejectHint: hint.index,
      rejectHintTerm: hint.term,
    });
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(Math.min(m.commit ?? 0, this.log.lastIndex()));
    // Our commit index goes back: a leader that removed itself waits until the others know it.
    const resp: Message = { type: 'heartbeat_resp', from: this.id, to: m.from, term: this.term, commit: this.log.committed };
    if (m.index !== undefined) resp.index = m.index; // the leader's send stamp, for its lease
    if (m.context !== undefined) resp.context = m.context;
    this.send(resp);
  }

  private handleSnapshot(m: Message): void {
    const snap = m.snapshot;
    if (!snap) return;
    if (this.restore(snap)) {
      this.send({ type: 'append_resp', from: this.id, to: m.from, term: this.term, index: this.log.lastIndex() });
    } else {
      this.send({ type: 'append_resp', from: this.id, to: m.from, term: this.term, index: this.log.committed });
    }
  }

  private restore(snap: Snapshot): boolean {
    const { index, term } = snap.meta;
    const bootstrap = !this.initialized() && snap.meta.conf.voters.length > 0;
    if (!bootstrap) {
      if (index <= this.log.committed) return false;
      if (this.log.matchTerm(index, term)) {
        // We already have the snapshot's last entry: just learn that it is committed.
        this.log.commitTo(index);
        return false;
      }
    }
    this.log.restore(snap);
    this.conf = { ...emptyConf(), ...copyConf(snap.meta.conf) };
    this.rebuildProgress();
    return true;
  }

  // ---- leader side of replication ------------------------------------------------------------

  private handleAppendResp(m: Message, pr: Progress): void {
    const index = m.index ?? 0;
    if (m.reject && m.needSnapshot) {
      if (pr.state !== 'snapshot') this.sendSnapshot(m.from, pr, true);
      return;
    }
    if (m.reject) {
      let hint = m.rejectHint ?? index;
      if ((m.rejectHintTerm ?? 0) > 0) hint = this.log.findConflictByTerm(hint, m.rejectHintTerm ?? 0).index;
      if (pr.maybeDecrTo(index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(index) && !(pr.state === 'snapshot' && index >= pr.pendingSnapshot)) return;
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') pr.inflights.freeLE(index);

    if (this.maybeCommit()) this.bcastAppend();
    else if (wasPaused) this.sendAppend(m.from, true);
    // Stream whatever the window allows now.
    while (this.sendAppend(m.from, false)) {
      /* keep filling */
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  private handleHeartbeatResp(m: Message, pr: Progress): void {
    pr.probeSent = false;
    if (m.index !== undefined && m.index > pr.leaseFrom) pr.leaseFrom = m.index;
    if (m.commit !== undefined && m.commit > pr.commit) pr.commit = m.commit;
    if (this.removedAt > 0) this.maybeHandOver();
    if (this.role !== 'leader') return;
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, true);
    if (m.context !== undefined) this.ackRead(m.from, m.context);
  }

  maybeCommit(): boolean {
    const mci = committedIndex(this.conf.voters, (id) => this.prs.get(id)?.match ?? 0);
    const before = this.log.committed;
    if (!this.log.maybeCommit(mci, this.term)) return false;
    const freed = this.log.bytesIn(before + 1, this.log.committed + 1);
    this.uncommittedBytes = freed === undefined ? 0 : Math.max(0, this.uncommittedBytes - freed);
    return true;
  }

  /** Send an append (or a snapshot) to `to` if its progress allows. Returns whether one went out. */
  sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.get(to);
    if (!pr || to === this.id || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const ents = this.log.slice(pr.next, this.log.lastIndex() + 1, this.maxEntriesPerMsg, this.maxBytesPerMsg);
    if (prevTerm === undefined || ents === undefined) return this.sendSnapshot(to, pr);
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.msgs.push({
      type: 'append',
      from: this.id,
      to,
      term: this.term,
      index: prevIndex,
      logTerm: prevTerm,
      entries: ents,
      commit: this.log.committed,
    });
    pr.sentEntries(ents.length, prevIndex + ents.length);
    return true;
  }

  /** `bootstrap`: the follower has no configuration, so even the index-0 snapshot teaches it. */
  private sendSnapshot(to: NodeId, pr: Progress, bootstrap = false): boolean {
    const snap = this.log.snapshot();
    if (snap.meta.index === 0 && !bootstrap) return false;
    this.msgs.push({ type: 'snapshot', from: this.id, to, term: this.term, snapshot: snap });
    pr.becomeSnapshot(snap.meta.index);
    return true;
  }

  bcastAppend(): void {
    for (const id of this.prs.keys()) if (id !== this.id) this.sendAppend(id, true);
  }

  private bcastHeartbeat(context: string | undefined): void {
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      // Never tell a follower to commit beyond what it is known to hold.
      const m: Message = {
        type: 'heartbeat',
        from: this.id,
        to: id,
        term: this.term,
        commit: Math.min(pr.match, this.log.committed),
        index: this.leaderTicks, // echoed back: tells us when the lease it grants began
      };
      if (context !== undefined) m.context = context;
      this.msgs.push(m);
    }
  }

  private send(m: Message): void {
    this.msgs.push(m);
  }

  // ---- proposals -----------------------------------------------------------------------------

  private appendEntries(ents: Entry[]): void {
    let index = this.log.lastIndex();
    for (const e of ents) {
      e.term = this.term;
      e.index = ++index;
    }
    this.log.append(ents);
    this.prs.get(this.id)?.maybeUpdate(this.log.lastIndex());
    // A single-voter cluster commits right away.
    this.maybeCommit();
  }

  propose(type: Entry['type'], data: Uint8Array): { index: number; term: number } {
    if (this.role !== 'leader') throw new ProposalDroppedError('not the leader');
    if (this.leadTransferee !== NONE) throw new ProposalDroppedError('leadership transfer in progress');
    if (!this.prs.has(this.id)) throw new ProposalDroppedError('this node was removed');
    // One proposal always fits when nothing is pending, however large (as in etcd).
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + data.length > this.maxUncommittedBytes) {
      throw new ProposalDroppedError(`${this.uncommittedBytes} bytes are not committed yet; try again later`);
    }
    this.uncommittedBytes += data.length;
    this.appendEntries([{ term: 0, index: 0, type, data }]);
    this.bcastAppend();
    return { index: this.log.lastIndex(), term: this.term };
  }

  proposeConfChange(cc: ConfChange, data: Uint8Array): { index: number; term: number } {
    if (this.role !== 'leader') throw new ProposalDroppedError('not the leader');
    if (this.pendingConfIndex > this.log.applied) {
      throw new ProposalDroppedError('a membership change is still pending');
    }
    const why = refusal(this.conf, cc);
    if (why !== undefined) throw new ProposalDroppedError(why);
    const at = this.propose('conf_change', data);
    this.pendingConfIndex = at.index;
    return at;
  }

  // ---- membership ----------------------------------------------------------------------------

  applyConfChange(cc: ConfChange): ConfState {
    this.conf = applyChange(this.conf, cc);
    this.rebuildProgress();
    if (this.role !== 'leader') return copyConf(this.conf);
    if (!isVoter(this.conf, this.id)) {
      // Stepping down at once could strand the others: until they learn that our removal is
      // committed they keep the old configuration, which still counts us. Keep leading (we no
      // longer count in any quorum and take no proposals) until a quorum of the new voters knows.
      this.removedAt = this.log.committed;
      this.bcastHeartbeat(undefined);
      this.maybeHandOver();
      return copyConf(this.conf);
    }
    if (this.leadTransferee !== NONE && !isVoter(this.conf, this.leadTransferee)) this.abortLeaderTransfer();
    // The quorum may have shrunk: maybe something commits now.
    if (this.maybeCommit()) this.bcastAppend();
    else for (const id of this.prs.keys()) this.sendAppend(id, false);
    return copyConf(this.conf);
  }

  private maybeHandOver(): void {
    const told = hasQuorum(this.conf.voters, (id) => (this.prs.get(id)?.commit ?? 0) >= this.removedAt);
    if (told) this.handOver();
  }

  /** We led, and were removed: let the most caught-up voter take over at once, then step down. */
  private handOver(): void {
    let best: NodeId = NONE;
    let bestMatch = -1;
    for (const id of this.conf.voters) {
      const m = this.prs.get(id)?.match ?? 0;
      if (m > bestMatch) {
        best = id;
        bestMatch = m;
      }
    }
    if (best !== NONE && bestMatch === this.log.lastIndex()) this.sendTimeoutNow(best);
    this.becomeFollower(this.term, NONE);
  }

  /** Make prs match the configuration, keeping what we know of remaining members. */
  private rebuildProgress(): void {
    const members = new Set<NodeId>([...this.conf.voters, ...this.conf.learners]);
    for (const id of this.prs.keys()) if (!members.has(id)) this.prs.delete(id);
    const last = this.log.lastIndex();
    for (const id of members) {
      const learner = this.conf.learners.includes(id);
      const pr = this.prs.get(id);
      if (pr) {
        pr.isLearner = learner;
        continue;
      }
      const fresh = new Progress(last + 1, this.maxInflight, learner);
      if (id === this.id) fresh.match = last;
      // A newcomer gets a full election timeout before check-quorum holds it against us.
      fresh.lastHeard = this.leaderTicks;
      this.prs.set(id, fresh);
    }
  }

  // ---- what the transport tells us -----------------------------------------------------------

  /** Messages to `id` are not getting through: stop streaming to it and probe until it answers. */
  reportUnreachable(id: NodeId): void {
    const pr = this.prs.get(id);
    if (this.role === 'leader' && pr && pr.state === 'replicate') pr.becomeProbe();
  }

  /**
   * The snapshot sent to `id` was delivered in full, or failed. Either way stop waiting for it:
   * after a failure probe again (which sends a fresh snapshot if still needed); after a success
   * wait for the follower's answer, which the next heartbeat round provokes.
   */
  reportSnapshot(id: NodeId, failed: boolean): void {
    const pr = this.prs.get(id);
    if (this.role !== 'leader' || !pr || pr.state !== 'snapshot') return;
    if (failed) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    if (!failed) pr.probeSent = true;
  }

  // ---- leadership transfer -------------------------------------------------------------------

  transferLeadership(to: NodeId): void {
    if (this.role !== 'leader') throw new ProposalDroppedError('not the leader');
    if (to === this.id || !isVoter(this.conf, to)) return;
    if (this.leadTransferee === to) return;
    this.abortLeaderTransfer();
    // The transfer must finish within one election timeout (tickLeader aborts it otherwise).
    this.electionElapsed = 0;
    this.leadTransferee = to;
    this.leaseForfeited = true;
    const pr = this.prs.get(to);
    if (pr && pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to, true);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.msgs.push({ type: 'timeout_now', from: this.id, to, term: this.term });
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- read index ----------------------------------------------------------------------------

  /**
   * Linearizable read: remember the commit index now, confirm we still lead with a heartbeat
   * round, then hand out a ReadState for it.
   */
  readIndex(context: string): void {
    if (this.role !== 'leader') throw new ProposalDroppedError('not the leader');
    // Until an entry of our term commits, our commit index may lag the true one.
    if (this.log.term(this.log.committed) !== this.term) this.reads.wait(context);
    else this.startRead(context);
  }

  private startRead(context: string): void {
    const index = this.log.committed;
    if (this.conf.voters.length === 1 && this.conf.voters[0] === this.id) {
      this.readStates.push({ index, context });
      return;
    }
    this.reads.add(context, index, this.id);
    this.bcastHeartbeat(context);
  }

  private ackRead(from: NodeId, context: string): void {
    for (const r of this.reads.ack(from, context, this.conf.voters)) this.readStates.push(r);
  }

  /** Called by RawNode after commit may have moved: start reads that waited for our term. */
  releaseWaitingReads(): void {
    if (this.role !== 'leader' || !this.reads.hasWaiting()) return;
    if (this.log.term(this.log.committed) !== this.term) return;
    for (const ctx of this.reads.takeWaiting()) this.startRead(ctx);
  }
}

/**
 * The lease length in our ticks. A follower's promise lasts electionTick - 1 of its ticks from
 * when it received our heartbeat (which is after we sent it); if its clock may run faster than
 * ours by `drift`, that is (electionTick - 1) / (1 + drift) of ours. Whole ticks only, rounded down.
 */
export function leaseTicksFor(electionTick: number, drift: number): number {
  if (!(drift >= 0 && drift < 1)) throw new Error('raft: maxClockDrift must be in [0, 1)');
  const ticks = Math.floor((electionTick - 1) / (1 + drift));
  if (ticks < 1) throw new Error('raft: electionTick too small for a lease with this clock drift');
  return ticks;
}

const EMPTY = new Uint8Array(0);
const NO_ENTRIES: Entry[] = [];
