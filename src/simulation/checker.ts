/**
 * The invariants of DESIGN §7 the cluster simulation can see, checked as events happen:
 *
 * - 2: once the faults have healed and the cluster has quiesced, every run is terminal (checked
 *   at the end, with the stuck runs named).
 * - 3: a job never executes on two agents at once, and one dispatch attempt of a job is never
 *   started twice (from what the simulated agents actually run).
 * - 4 (for workflow `concurrency` groups, the gate DESIGN §7's environment limit shares its
 *   actor design with): a group never has more than its `max` runs admitted at once, cluster-wide.
 *   A run holds a place from its start (`running`) until it is terminal, `cancelling` included (its
 *   jobs still hold agents: concurrency-groups.ts); `pending` (and `held`) runs wait and hold none.
 *   Checked at every accepted store write of a run's status, the store being what every node reads.
 * - 6: at most one leader per term; every write the store accepted for a run came from the node
 *   the replicated map gave the shard at the write's epoch (run creation, which any node may make
 *   at the map's epoch, only needs an epoch the map gave); a shard is raised only by the node the
 *   map gives it at that epoch; and no write is accepted at an epoch below its shard's row.
 *   The map itself must never name two owners for one shard at one epoch.
 * - R (DESIGN §3, "never lost"): an agent's final job status that its orchestrator acknowledged
 *   reaches the job's record, unless the job has moved on to another agent since. A record that
 *   took another execution's word instead (the job ran again after it had finished) breaks no
 *   invariant of DESIGN §7, so it is kept as a note, not a violation.
 *
 * Each violation carries a `kind`, so that a batch can tell the known findings (findings.ts) from
 * anything new.
 */
import type { ShardOwnership } from '../cluster/index.js';
import { AGENT_RESTARTED_ERROR, RECOVERY_EXPIRED_ERROR, STALE_ERROR, type AcceptedWrite, type RunStatus } from '../runs/index.js';

export type Invariant = '2' | '3' | '4' | '6' | 'R';

export interface Violation {
  invariant: Invariant;
  /** What broke it, as far as the checker can tell (the findings are named by it). */
  kind: string;
  /** Virtual ms since the start. */
  at: number;
  text: string;
}

/** The errors a job gets when a safety net ends it instead of its agent's report. */
const SAFETY_NET_ERRORS: ReadonlySet<string> = new Set([AGENT_RESTARTED_ERROR, RECOVERY_EXPIRED_ERROR, STALE_ERROR]);

/** Run statuses that hold a place in the run's concurrency group. */
const HOLDS_PLACE: ReadonlySet<RunStatus> = new Set<RunStatus>(['running', 'cancelling']);

/** Past this many, more violations are counted but not kept: the first ones tell the story. */
const KEPT = 20;

export class ClusterChecker {
  readonly violations: Violation[] = [];
  /** What is worth knowing and breaks no invariant (same shape, never counted as a violation). */
  readonly notes: Violation[] = [];
  private total = 0;
  private readonly leaders = new Map<number, string>();
  /** shard → epoch → the node the replicated map gave it to. */
  private readonly map = new Map<number, Map<number, string>>();
  /** shard → the epoch its store row was last raised to. */
  private readonly rows = new Map<number, number>();
  /** job → the agent executing it now. */
  private readonly executing = new Map<string, string>();
  /** `job#attempt` of every execution started, with the epoch of its dispatch. */
  private readonly starts = new Map<string, number>();
  /** job → the epoch of the dispatch its current execution came with. */
  private readonly epochs = new Map<string, number>();
  /** group → its runs holding a place now, with their status. */
  private readonly admitted = new Map<string, Map<string, RunStatus>>();
  /** run → its group, once seen. */
  private readonly groupOfRun = new Map<string, string>();
  writes = 0;
  executions = 0;
  /** The most runs of one group ever admitted at once (for the summary). */
  peakAdmitted = 0;

  constructor(private readonly elapsed: () => number) {}

  get count(): number {
    return this.total;
  }

  violation(invariant: Invariant, kind: string, text: string): void {
    this.total++;
    if (this.violations.length < KEPT) this.violations.push({ invariant, kind, at: this.elapsed(), text });
  }

  /** A node's process sees itself lead `term`. */
  leader(term: number, node: string): void {
    const known = this.leaders.get(term);
    if (known === undefined) this.leaders.set(term, node);
    else if (known !== node) this.violation('6', 'two-leaders', `two leaders in term ${term}: ${known} and ${node}`);
  }

  /** A node applied the replicated map as it now stands. */
  mapApplied(node: string, owners: ReadonlyMap<number, ShardOwnership>): void {
    for (const [shard, owner] of owners) {
      let epochs = this.map.get(shard);
      if (!epochs) this.map.set(shard, (epochs = new Map()));
      const known = epochs.get(owner.epoch);
      if (known === undefined) epochs.set(owner.epoch, owner.node);
      else if (known !== owner.node) this.violation('6', 'map-disagrees', `${node} applied shard ${shard} at epoch ${owner.epoch} to ${owner.node}, another node applied it to ${known}`);
    }
  }

  /** The store accepted a write. */
  storeWrite(w: AcceptedWrite): void {
    this.writes++;
    const owner = this.map.get(w.shard)?.get(w.epoch);
    const row = this.rows.get(w.shard) ?? 0;
    const what = `${w.kind}${w.runId ? ` of ${w.runId}` : ''}${w.jobId ? `/${w.jobId}` : ''} in shard ${w.shard} at epoch ${w.epoch}`;
    if (w.kind === 'shard_raised') {
      if (owner === undefined) this.violation('6', 'raise-unmapped', `${w.node ?? '?'} raised shard ${w.shard} to epoch ${w.epoch}, which the map never gave`);
      else if (owner !== w.node) this.violation('6', 'raise-by-non-owner', `${w.node ?? '?'} raised shard ${w.shard} to epoch ${w.epoch}, which the map gives to ${owner}`);
      this.rows.set(w.shard, Math.max(row, w.epoch));
      return;
    }
    if (w.epoch < row) this.violation('6', 'write-below-row', `${w.node ?? '?'} wrote ${what}, below the shard's row at ${row}`);
    if (owner === undefined) this.violation('6', 'write-unmapped', `${w.node ?? '?'} wrote ${what}, an epoch the map never gave`);
    else if (w.kind !== 'run_created' && owner !== w.node) this.violation('6', 'write-by-non-owner', `${w.node ?? '?'} wrote ${what}, which the map gives to ${owner}`);
  }

  /**
   * A run's status as the store holds it after an accepted write (invariant 4). `group` is its
   * workflow `concurrency` group (a key naming source, workflow and group string) and `max`, or
   * null for a run outside any group.
   */
  runStatus(runId: string, status: RunStatus, group: { key: string; max: number } | null): void {
    if (!group) return;
    this.groupOfRun.set(runId, group.key);
    let runs = this.admitted.get(group.key);
    if (!runs) this.admitted.set(group.key, (runs = new Map()));
    const before = runs.size;
    if (HOLDS_PLACE.has(status)) runs.set(runId, status);
    else runs.delete(runId);
    this.peakAdmitted = Math.max(this.peakAdmitted, runs.size);
    // Reported when the count climbs past max, not again for every write while it stays there.
    if (runs.size > group.max && runs.size > before) {
      const held = [...runs].map(([id, s]) => `${id} ${s}`).join(', ');
      this.violation('4', 'group-over-max', `group ${group.key} (max ${group.max}) has ${runs.size} runs admitted at once after ${runId} became ${status}: ${held}`);
    }
  }

  /**
   * An agent began to execute a job (accepted its dispatch). Two executions whose dispatches carry
   * different epochs are `stale-epoch-dispatch`: one of them was sent under an epoch the shard had
   * already left (or before the new owner knew of it); the same epoch twice is `same-epoch`.
   */
  executionStarted(agentId: string, job: { jobId: string; attempt: number; epoch: number }): void {
    this.executions++;
    const other = this.executing.get(job.jobId);
    if (other !== undefined) {
      const epoch = this.epochs.get(job.jobId)!;
      this.violation('3', epoch === job.epoch ? 'same-epoch' : 'stale-epoch-dispatch', `job ${job.jobId} started on ${agentId} (epoch ${job.epoch}) while it runs on ${other} (epoch ${epoch})`);
    }
    this.executing.set(job.jobId, agentId);
    this.epochs.set(job.jobId, job.epoch);
    const key = `${job.jobId}#${job.attempt}`;
    const before = this.starts.get(key);
    if (before !== undefined) {
      this.violation('3', before === job.epoch ? 'same-epoch' : 'stale-epoch-dispatch', `job ${job.jobId} dispatch attempt ${job.attempt} started a second time, on ${agentId} (epochs ${before} and ${job.epoch})`);
    }
    this.starts.set(key, job.epoch);
  }

  executionEnded(agentId: string, jobId: string): void {
    if (this.executing.get(jobId) === agentId) this.executing.delete(jobId);
  }

  /**
   * Invariant 2, once the faults have healed and the cluster has had its time to quiesce: a run
   * still pending with no job ever dispatched is `never-started` (its start was lost).
   */
  unfinished(stuck: readonly { text: string; neverStarted: boolean }[]): void {
    for (const s of stuck) this.violation('2', s.neverStarted ? 'never-started' : 'not-terminal', `not terminal after healing: ${s.text}`);
  }

  /**
   * Check R at the end: the final job status the orchestrator acknowledged for each job's last
   * execution, against the job's record (only while the record still names that agent). A record
   * that a safety net ended (stale, recovery expired, agent restarted) although the job was still
   * open when the report was acknowledged is `lost-final-status`: the report was acknowledged and
   * never applied. One the net had already ended when the report came is a late report, and one
   * that took another execution's word is `report-of-other-execution`: notes, not violations.
   */
  reportsKept(
    acked: readonly { agentId: string; jobId: string; state: string; openAtAck: boolean }[],
    record: (jobId: string) => { agentId?: string | null; status: string; error?: string | null } | undefined,
  ): void {
    for (const a of acked) {
      const job = record(a.jobId);
      if (!job || job.agentId !== a.agentId || job.status === a.state) continue;
      const text = `${a.agentId} reported ${a.jobId} ${a.state} for its last execution and was acknowledged, yet the job is ${job.status}${job.error ? ` (${job.error})` : ''}`;
      const byNet = job.status === 'timed_out_stale' || SAFETY_NET_ERRORS.has(job.error ?? '');
      if (byNet && a.openAtAck) this.violation('R', 'lost-final-status', text);
      else this.note(byNet ? 'late-final-status' : 'report-of-other-execution', text);
    }
  }

  private note(kind: string, text: string): void {
    if (this.notes.length < KEPT) this.notes.push({ invariant: 'R', kind, at: this.elapsed(), text });
  }
}
