/**
 * How the waiting gates of several environments combine into one requirement for a job: the most
 * restrictive wins (KiCI's `protection/aggregate.ts`, with the gaps its reference note marks closed).
 *   trust       the highest `minimum_trust` among them (a job must satisfy every environment);
 *   reviewers   the union of their reviewers, sorted and de-duplicated; every one must approve;
 *   wait timer  the longest of the timers that are set (0 is set: it still waits, for no time);
 *   hold expiry the shortest;
 *   concurrency one slot group per environment with a limit, each with its own limit and strategy,
 *               plus the job's `concurrencyGroup` if it has one, and every group must admit the job.
 * KiCI put a multi-environment job in one group (its first environment's name) under the smallest
 * limit, so a job naming `eu` and `us` did not count against `us`'s limit at all; here each
 * environment's limit holds for every job that deploys there (invariant 4).
 */
import type { ConcurrencyStrategy, TrustTier } from './environment.js';
import type { AuthorTrust, GateEnvironment } from './gate-types.js';

/** A slot a job must hold in one concurrency group before it goes on. */
export interface ConcurrencySlot {
  /** The group's name within the org: an environment's name as the job asked for it, or the job's `concurrencyGroup`. */
  group: string;
  limit: number;
  strategy: ConcurrencyStrategy;
  /** The environments whose limit this group enforces. */
  environments: string[];
  /** Their latest `updated_at` (ms): the group ignores rules older than the ones it has. */
  rulesAt: number;
}

/** An environment as the job named it, once the hard gates found it configured and enabled. */
export interface NamedEnvironment {
  name: string;
  environment: GateEnvironment;
}

const TRUST_RANK: Record<AuthorTrust, number> = { unknown: 0, known: 1, trusted: 2 };

/** The environments whose `minimum_trust` the author's tier falls short of; none when the event has no tier. */
export function trustShortfall(envs: readonly NamedEnvironment[], trust: AuthorTrust | null | undefined): NamedEnvironment[] {
  if (trust === undefined || trust === null) return [];
  return envs.filter((e) => e.environment.minimumTrust !== null && TRUST_RANK[trust] < TRUST_RANK[e.environment.minimumTrust]);
}

/** The highest tier among `envs` (they all have one). */
export function highestTrust(envs: readonly NamedEnvironment[]): TrustTier {
  return envs.some((e) => e.environment.minimumTrust === 'trusted') ? 'trusted' : 'known';
}

export function unionOfReviewers(envs: readonly NamedEnvironment[]): string[] {
  return [...new Set(envs.flatMap((e) => e.environment.requiredReviewers))].sort();
}

/** The longest wait timer and the environment that sets it (the first of equals), or null when none is set. */
export function longestWaitTimer(envs: readonly NamedEnvironment[]): { seconds: number; environment: string } | null {
  let longest: { seconds: number; environment: string } | null = null;
  for (const e of envs) {
    const seconds = e.environment.waitTimerSeconds;
    if (seconds !== null && (longest === null || seconds > longest.seconds)) longest = { seconds, environment: e.name };
  }
  return longest;
}

export function shortestHoldExpiry(envs: readonly NamedEnvironment[]): number {
  return Math.min(...envs.map((e) => e.environment.holdExpirySeconds));
}

/**
 * The job's slot groups, sorted by name: a job takes them one at a time in this order, so two
 * jobs that need the same two groups can never each hold one and wait for the other.
 * The `concurrencyGroup` group takes the smallest limit among the environments and the strategy
 * of the first environment that has a limit; without any limit it enforces nothing and is left out.
 * A group with the same name as an environment is that environment's group, under the smaller limit.
 */
export function slotsOf(envs: readonly NamedEnvironment[], concurrencyGroup: string | null | undefined): ConcurrencySlot[] {
  const limited = envs.filter((e) => e.environment.concurrencyLimit !== null);
  const slots = new Map<string, ConcurrencySlot>();
  for (const e of limited) {
    const { concurrencyLimit, concurrencyStrategy, updatedAt } = e.environment;
    add(slots, { group: e.name, limit: concurrencyLimit!, strategy: concurrencyStrategy, environments: [e.name], rulesAt: updatedAt.getTime() });
  }
  if (concurrencyGroup && limited.length > 0) {
    const limit = Math.min(...limited.map((e) => e.environment.concurrencyLimit!));
    const rulesAt = Math.max(...limited.map((e) => e.environment.updatedAt.getTime()));
    add(slots, { group: concurrencyGroup, limit, strategy: limited[0]!.environment.concurrencyStrategy, environments: limited.map((e) => e.name), rulesAt });
  }
  return [...slots.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

function add(slots: Map<string, ConcurrencySlot>, slot: ConcurrencySlot): void {
  const known = slots.get(slot.group);
  if (!known) {
    slots.set(slot.group, slot);
    return;
  }
  known.limit = Math.min(known.limit, slot.limit);
  known.rulesAt = Math.max(known.rulesAt, slot.rulesAt);
  known.environments = [...new Set([...known.environments, ...slot.environments])];
}
