/**
 * A RunActor's side of the environment protection gates (src/environments: gateJob, EnvGroupActor).
 * A released job that names `environments` or a `concurrencyGroup` goes through the gates before it
 * is dispatched, and through them again each time it got past one by waiting:
 *
 *   reject  ends failed with the gate's reason (dependents are skipped as for any failure)
 *   hold    held (job-holds.ts) until its reviewers decide or the hold expires; a node whose store
 *           keeps no holds fails it instead: a job must never run ungated
 *   queue   takes a slot in each group in order from its EnvGroupActor; queued: waits for its notice
 *   wait    waits for the timer, whose end is stored on the job so a new owner resumes it
 *   admit   dispatched as any job
 *
 * Progress lives on the job (`JobRecord.gate`), written with the job's own fenced writes, so a slot
 * a job holds or waits for is in the store before the group is asked: a group rebuilding from the
 * store never loses a job it admitted (invariant 4), and a new owner asks again for what it waits for.
 */
import type { Clock } from '../clock/index.js';
import { bindEnvironments, gateJob, type ConcurrencySlot, type GateDecision, type GateEvent, type PassableGate } from '../environments/index.js';
import type { CiEvent } from '../workflows/index.js';
import { NO_GATE, type EnvironmentGatePorts, type GateSlot, type JobGate } from './gate-ports.js';
import { isHoldGate } from './job-holds.js';
import { ignored, ok, type RunReply } from './messages.js';
import type { GateOutcome, JobPatch, JobRecord, RunRecord } from './ports.js';
import { transition } from './state-machine.js';
import { isTerminalJobStatus, jobState } from './statuses.js';

/** What the gates need of the RunActor that owns the job. */
export interface GateHost {
  readonly run: RunRecord;
  readonly clock: Clock;
  job(jobId: string): JobRecord | undefined;
  save(job: JobRecord, patch: JobPatch): Promise<void>;
  fail(job: JobRecord, reason: string): Promise<void>;
  cancel(job: JobRecord, reason: string): Promise<void>;
  dispatch(job: JobRecord): Promise<void>;
  hold(job: JobRecord, decision: Extract<GateDecision, { verdict: 'hold' }>): Promise<void>;
  report(job: JobRecord, outcome: GateOutcome): void;
  armTimer(jobId: string, ms: number): void;
  /** `runs.environment`, once per run. */
  recordEnvironment(group: string): Promise<void>;
}

export const GATES_UNAVAILABLE = 'environment protection: this node cannot check environments (no environment store); the job was not run';

/** The environments and group a job's lock-file entry names; null when it names neither (not gated). */
export function gatedNames(config: unknown): { environments: string[]; concurrencyGroup: string | null } | null {
  const c = config as { environments?: unknown; concurrencyGroup?: unknown } | null;
  const environments = Array.isArray(c?.environments) ? (c.environments as string[]) : [];
  const concurrencyGroup = typeof c?.concurrencyGroup === 'string' ? c.concurrencyGroup : null;
  return environments.length > 0 || concurrencyGroup ? { environments, concurrencyGroup } : null;
}

/**
 * The event as the gates see it. Pushes and tags carry no author trust tier, so the trust gate
 * passes them; a GitHub pull request's author was given one when its delivery was processed.
 */
export function gateEventOf(run: RunRecord): GateEvent {
  const event = (run.event ?? {}) as Partial<CiEvent>;
  const tier = event.pullRequest?.trustTier;
  const trust = tier === 'trusted' || tier === 'known' || tier === 'unknown' ? tier : null;
  return { type: event.type ?? 'push', branch: event.branch ?? run.branch ?? undefined, repo: event.repo, trust };
}

/** A hold's error on a node whose store keeps no holds: the job is failed, never run past its reviewers. */
export function holdError(decision: Extract<GateDecision, { verdict: 'hold' }>): string {
  const names = decision.environments.map((e) => `'${e}'`).join(', ');
  const who = decision.environments.length === 1 ? `environment ${names} requires` : `environments ${names} require`;
  const what = decision.gate === 'reviewers' ? `reviewers (${decision.reviewers.join(', ')})` : `a ${decision.minimumTrust} pull request author (this one is ${decision.trust})`;
  return `environment protection: ${who} ${what}, and this node's store keeps no holds; the job was not run`;
}

export class JobGating {
  /** Jobs waiting at a gate in this activation: a notice or the timer moves them, not a new release. */
  private readonly waiting = new Set<string>();

  constructor(
    private readonly host: GateHost,
    private readonly ports: EnvironmentGatePorts | undefined,
  ) {}

  private get orgId(): string {
    return this.host.run.orgId ?? 'default';
  }

  /** Put a released (pending) job through the gates and act on the verdict. */
  async pass(job: JobRecord): Promise<void> {
    if (job.status !== 'pending' || this.waiting.has(job.id)) return;
    // A held job waits for its reviewers whatever the rules say now: people decide a hold, or it expires.
    if (isHoldGate(job.gate?.waiting)) return;
    // One waiting out its timer (a new activation) waits on: the machine's `waiting` state can only
    // run out or be cancelled, so the gates are asked again from `pending`, when the timer is done.
    const until = job.gate?.waiting === 'wait-timer' ? job.gate.waitUntil : null;
    if (typeof until === 'number') return this.startTimer(job, job.gate!.reason ?? 'waiting for the wait timer', until);
    if (!this.ports) return this.host.fail(job, GATES_UNAVAILABLE);
    const names = gatedNames(job.config)!;
    const gate = job.gate ?? NO_GATE;
    const environments = bindEnvironments(await this.ports.list(this.orgId), names.environments);
    const decision = gateJob({ environments, concurrencyGroup: names.concurrencyGroup }, gateEventOf(this.host.run), new Set(gate.passed), this.host.clock);
    switch (decision.verdict) {
      case 'reject':
        this.host.report(job, { kind: 'rejected', gate: decision.gate });
        return this.host.fail(job, decision.reason);
      case 'hold':
        return this.host.hold(job, decision);
      case 'queue':
        return this.takeSlots(job, decision.slots);
      case 'wait':
        return this.startTimer(job, decision.reason, gate.waitUntil ?? decision.until);
      case 'admit':
        if (job.gate?.waiting) await this.saveGate(job, { waiting: null, reason: null });
        return this.host.dispatch(job);
    }
  }

  /**
   * One group at a time, in the decision's (name) order. A slot goes on record as `waiting` before
   * its group is asked: a group that rebuilds from the store between its answer and our next
   * write still finds the job, and keeps the slot it gave it.
   */
  private async takeSlots(job: JobRecord, wanted: ConcurrencySlot[]): Promise<void> {
    await this.host.recordEnvironment(wanted[0]!.group);
    let slots = [...(job.gate?.slots ?? [])];
    for (const slot of wanted) {
      const known = slots.find((s) => s.group === slot.group);
      if (known?.state === 'held') continue;
      if (!known) {
        slots = [...slots, slotOf(slot, this.host.clock.now())];
        await this.saveGate(job, { slots, waiting: 'concurrency', reason: slotReason(slot) });
      }
      const answer = await this.ports!.request(this.orgId, slot.group, { runId: job.runId, jobId: job.id, limit: slot.limit, strategy: slot.strategy, rulesAt: slot.rulesAt });
      if (answer.verdict === 'cancelled') return this.host.cancel(job, answer.reason ?? `cancelled in concurrency group '${slot.group}'`);
      if (answer.verdict === 'queued') {
        this.waiting.add(job.id);
        return this.saveGate(job, { slots, waiting: 'concurrency', reason: slotReason(slot) });
      }
      slots = slots.map((s) => (s.group === slot.group ? { ...s, state: 'held' as const } : s));
    }
    await this.saveGate(job, { slots, waiting: null, reason: null, passed: passing(job, 'concurrency') });
    await this.pass(job);
  }

  private async startTimer(job: JobRecord, reason: string, until: number): Promise<void> {
    if (job.gate?.waiting !== 'wait-timer') transition(jobState(job), 'WAIT');
    if (job.gate?.waiting !== 'wait-timer' || job.gate.waitUntil !== until) await this.saveGate(job, { waiting: 'wait-timer', reason, waitUntil: until });
    this.waiting.add(job.id);
    this.host.armTimer(job.id, until - this.host.clock.now());
  }

  /** The wait timer ran out: the job goes on through the gates (the hard ones are checked again). */
  async timerDone(jobId: string): Promise<RunReply> {
    const job = this.host.job(jobId);
    const gate = job?.gate;
    if (!job || job.status !== 'pending' || gate?.waiting !== 'wait-timer') return ignored('the job is not waiting for its timer');
    if (gate.waitUntil !== null && this.host.clock.now() < gate.waitUntil) return ignored('the wait timer has not run out');
    transition(jobState(job), 'TIMER_DONE');
    this.waiting.delete(jobId);
    await this.saveGate(job, { waiting: null, reason: null, passed: passing(job, 'wait-timer') });
    await this.pass(job);
    return ok;
  }

  /**
   * An EnvGroupActor's notice. One for a job that no longer waits in that group is answered with a
   * release when it admitted the job: a stale notice must not strand a slot nobody will use.
   */
  async slotNotice(jobId: string, group: string, verdict: 'admitted' | 'cancelled', reason: string | undefined): Promise<RunReply> {
    const job = this.host.job(jobId);
    const slot = job?.gate?.slots.find((s) => s.group === group);
    if (!job || job.status !== 'pending' || slot?.state !== 'waiting') {
      const holdsIt = job !== undefined && !isTerminalJobStatus(job.status) && slot?.state === 'held';
      if (verdict === 'admitted' && !holdsIt) this.ports?.release(this.orgId, group, { runId: this.host.run.id, jobId });
      return ignored('the job does not wait in this group');
    }
    this.waiting.delete(jobId);
    if (verdict === 'cancelled') {
      await this.host.cancel(job, reason ?? `cancelled in concurrency group '${group}'`);
      return ok;
    }
    const slots = job.gate!.slots.map((s) => (s.group === group ? { ...s, state: 'held' as const } : s));
    await this.saveGate(job, { slots });
    await this.pass(job);
    return ok;
  }

  /** The job ended: every group it holds a slot in or waits in hears so. Nothing to do for ungated jobs. */
  ended(job: JobRecord): void {
    this.waiting.delete(job.id);
    for (const slot of job.gate?.slots ?? []) this.ports?.release(this.orgId, slot.group, { runId: job.runId, jobId: job.id });
  }

  private saveGate(job: JobRecord, changes: Partial<JobGate>): Promise<void> {
    return this.host.save(job, { gate: { ...(job.gate ?? NO_GATE), ...changes }, needsSatisfied: true });
  }
}

function slotOf(slot: ConcurrencySlot, now: number): GateSlot {
  return { group: slot.group, state: 'waiting', requestedAt: now, limit: slot.limit, strategy: slot.strategy, rulesAt: slot.rulesAt };
}

function slotReason(slot: ConcurrencySlot): string {
  return `waiting for a slot in concurrency group '${slot.group}' (limit ${slot.limit})`;
}

function passing(job: JobRecord, gate: PassableGate): PassableGate[] {
  return [...new Set([...(job.gate?.passed ?? []), gate])];
}
