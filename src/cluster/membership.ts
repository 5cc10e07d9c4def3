/**
 * The leader keeps the Raft configuration in step with the members the replicated state lists:
 * a coordinator that joined is added as a learner, a learner that has caught up is promoted to
 * voter (and the state says so), and a removed member leaves the configuration. It works from what
 * is, not from events, so a new leader finishes what an old one started. One change at a time:
 * Raft takes one configuration change in flight.
 */
import type { ClusterRaft } from './cluster-raft.js';

/**
 * A learner is caught up when it has acknowledged everything committed, and is at most this many
 * entries behind the leader's log. Match only grows on the learner's own acknowledgement, so a
 * learner that never answered (match 0) is never promoted: a voter that cannot vote would cost
 * the cluster its quorum.
 */
const CAUGHT_UP_ENTRIES = 5;

export interface MembershipLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export class MembershipSteward {
  private busy = false;

  constructor(
    private readonly raft: ClusterRaft,
    private readonly log: MembershipLog,
  ) {}

  /**
   * Take the next step, if this node leads and one is due; call it on every tick and apply.
   * `leaving` names members being removed right now: they are left alone.
   */
  async step(leaving: (node: string) => boolean = () => false): Promise<void> {
    if (this.busy) return;
    const status = this.raft.status();
    if (status.role !== 'leader') return;
    this.busy = true;
    try {
      await this.next(status, leaving);
    } catch (e) {
      // Dropped proposals (leadership lost, a change in flight) are retried on the next step.
      this.log.warn({ err: (e as Error).message }, 'cluster membership change did not complete; retrying');
    } finally {
      this.busy = false;
    }
  }

  private async next(status: ReturnType<ClusterRaft['status']>, leaving: (node: string) => boolean): Promise<void> {
    const { voters, learners } = status.conf;
    const inConf = new Set([...voters, ...learners]);
    for (const id of inConf) {
      if (id !== status.id && this.raft.state.wasRemoved(id)) {
        await this.raft.remove(id);
        this.log.info({ raftId: id }, 'removed member left the Raft configuration');
        return;
      }
    }
    for (const m of this.raft.state.memberList()) {
      if (m.role !== 'coordinator' || leaving(m.node)) continue;
      // Only a joiner (standing `learner`) is added: a voter missing from the configuration is one
      // being removed (out of the configuration first, then out of the state).
      if (!inConf.has(m.raftId) && m.standing === 'learner') {
        await this.raft.addLearner(m.raftId);
        this.log.info({ node: m.node, raftId: m.raftId }, 'joiner added to Raft as a learner');
        return;
      }
      const match = status.match[m.raftId] ?? 0;
      if (learners.includes(m.raftId) && match > 0 && match >= status.commit && status.lastIndex - match <= CAUGHT_UP_ENTRIES) {
        await this.raft.promote(m.raftId);
        this.log.info({ node: m.node, raftId: m.raftId }, 'learner caught up: promoted to voter');
        return;
      }
      if (voters.includes(m.raftId) && m.standing === 'learner') {
        await this.raft.propose({ type: 'member_promoted', node: m.node });
        return;
      }
    }
  }
}
