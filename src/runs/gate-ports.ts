/**
 * What a RunActor needs to put a job through its environments' protection gates: the org's
 * environments (EnvironmentLookup, the store's `environments`), and the EnvGroupActors that admit
 * jobs to concurrency groups (EnvGroupClient, reached through the actor system wherever they live).
 * And what it keeps on the job of its progress (`JobGate`, stored with the job's own fenced writes),
 * so a new owner after a restart or a move goes on from where the job stood.
 */
import type { ConcurrencyStrategy, Environment, HoldGate, JobRef, PassableGate, SlotAnswer } from '../environments/index.js';

export interface EnvironmentLookup {
  /** One org's environments, oldest first (the store's `environments.list`). */
  list(orgId: string): Promise<readonly Environment[]>;
}

/** A slot request as the EnvGroupActor takes it: the job, and the group's rules as the job read them. */
export interface SlotRequest extends JobRef {
  limit: number | null;
  strategy: ConcurrencyStrategy;
  rulesAt?: number;
}

export interface EnvGroupClient {
  /** Ask the (org, group) actor for a slot: admitted, queued (a notice follows) or cancelled. */
  request(orgId: string, group: string, request: SlotRequest): Promise<SlotAnswer>;
  /** A tell: the job ended or stopped waiting; its slot or its place goes to the next in line. */
  release(orgId: string, group: string, job: JobRef): void;
}

/** Both ports; a node without them fails gated jobs instead of running them ungated. */
export interface EnvironmentGatePorts extends EnvironmentLookup, EnvGroupClient {}

/** One concurrency group a job asked for, as stored on the job (`jobs.environment_gate.slots`). */
export interface GateSlot {
  group: string;
  /** `waiting`: asked, in line or about to be; `held`: admitted, until the job ends. */
  state: 'waiting' | 'held';
  /** When the job first asked (ms): the line's order when a group rebuilds from the store. */
  requestedAt: number;
  limit: number;
  strategy: ConcurrencyStrategy;
  rulesAt: number;
}

/** A gated job's progress (`jobs.environment_gate`). */
export interface JobGate {
  /** Gates passed by waiting (a slot in every group, the timer): the gates are asked again with them. */
  passed: PassableGate[];
  /**
   * What the job waits for now (null: nothing; it was admitted or has not been gated yet). A hold
   * (`trust`, `reviewers`) is the machine's `held` state, the timer its `waiting` state; the job's
   * stored status stays `pending` through both.
   */
  waiting: 'concurrency' | 'wait-timer' | HoldGate | null;
  /** Why it waits, as `runs show` prints it. */
  reason: string | null;
  /** The wait timer's end (ms): a new owner waits until then, not a whole timer again. */
  waitUntil: number | null;
  slots: GateSlot[];
}

export const NO_GATE: JobGate = { passed: [], waiting: null, reason: null, waitUntil: null, slots: [] };
