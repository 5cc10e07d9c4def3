/**
 * What the protection gates read: the environments a job names (already resolved to their
 * records), the event that started the run, and which of the waiting gates the job got past
 * already. Plain data, so the gates stay pure and a RunActor can call them again after a restart.
 */
import type { Environment, ProtectionRules } from './environment.js';

/** The gates, in the order they are checked (KiCI's `protection/pipeline.ts`). */
export const GATE_ORDER = ['enabled', 'branch', 'trust', 'concurrency', 'reviewers', 'wait-timer'] as const;
export type GateName = (typeof GATE_ORDER)[number];

/**
 * The gates a job gets past by something happening later: an approval (`trust`, `reviewers`),
 * slots in every concurrency group (`concurrency`), the timer running out (`wait-timer`). The
 * other two are decided from the rules and the event alone, every time.
 */
export type PassableGate = Extract<GateName, 'trust' | 'concurrency' | 'reviewers' | 'wait-timer'>;

/** A pull request author's trust tier; events without one (pushes, tags) have none and pass. */
export const AUTHOR_TRUST = ['unknown', 'known', 'trusted'] as const;
export type AuthorTrust = (typeof AUTHOR_TRUST)[number];

/** What the gates read of an environment record (`updatedAt` dates the rules a slot request carries). */
export type GateEnvironment = Pick<Environment, 'id' | 'name' | 'updatedAt'> & ProtectionRules;

/** One name a job asks for, with the environment it resolved to (null: no environment matches it). */
export interface BoundEnvironment {
  name: string;
  environment: GateEnvironment | null;
}

export interface GatedJob {
  /** In the job's declared order: the first is the primary one (KiCI's rule for strategy and ties). */
  environments: readonly BoundEnvironment[];
  /** The job's `concurrencyGroup`: a slot group shared across environments, on top of theirs. */
  concurrencyGroup?: string | null;
}

/** The event as the gates see it (a subset of the workflows room's CiEvent, same field names). */
export interface GateEvent {
  /** `push`, `tag`, `pull_request`, or a generic source's event type: what trigger type filters match. */
  type: string;
  /** The push branch, a pull request's target (base) branch, a tag event's tag name. */
  branch?: string;
  /** The repository identifier repository patterns match. */
  repo?: string;
  /** The pull request author's tier; absent or null for events that have none. */
  trust?: AuthorTrust | null;
}
