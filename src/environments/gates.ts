/**
 * The protection gates of a job, pure: given the environments it names, the event, and the gates
 * it got past already, what happens next. Checked in KiCI's order, stopping at the first gate that
 * does not pass:
 *
 *   enabled → branch (trigger type, repository) → trust → concurrency → reviewers → wait timer
 *
 *   reject  enabled/branch: the job ends rejected with `reason` as its error message
 *   hold    trust (a security review) or reviewers: a held_runs row until it is decided or expires
 *   queue   concurrency: take a slot in each group, in the order given, from its EnvGroupActor
 *   wait    wait timer: go on `seconds` later (0 still waits, for no time, as KiCI's gate does)
 *   admit   every gate passed: the job may be dispatched, holding the slots listed
 *
 * The caller asks again each time a gate is passed (an approval, the last slot admitted, the timer
 * done), naming it in `passed`. The hard gates are decided afresh every time: an environment
 * disabled or restricted while a job waits rejects it then (whoever holds slots gives them back).
 * The slot comes before reviewers and the timer, and is held through them, so a reviewer is asked
 * only about the job that runs next in its environment, and the limit counts every job that is
 * past the gate, whatever it waits for (invariant 4). How several environments combine is in
 * gate-combination.ts: any rejection rejects; otherwise the most restrictive requirement wins.
 */
import type { Clock } from '../clock/index.js';
import type { TrustTier } from './environment.js';
import {
  highestTrust,
  longestWaitTimer,
  shortestHoldExpiry,
  slotsOf,
  trustShortfall,
  unionOfReviewers,
  type ConcurrencySlot,
  type NamedEnvironment,
} from './gate-combination.js';
import { hardGateRejection, rejectionMessage, type GateRejection } from './gate-rejections.js';
import type { AuthorTrust, BoundEnvironment, GatedJob, GateEnvironment, GateEvent, PassableGate } from './gate-types.js';

interface HoldCommon {
  verdict: 'hold';
  reason: string;
  /** The environments that ask for this hold, in the job's order. */
  environments: string[];
  /** held_runs.environment_id: the first of them. */
  environmentId: string;
  holdExpirySeconds: number;
  /** When an undecided hold expires and the job is cancelled (ms since the epoch). */
  expiresAt: number;
}

export type GateDecision =
  | { verdict: 'reject'; gate: 'enabled' | 'branch'; reason: string; rejections: GateRejection[] }
  | (HoldCommon & { gate: 'trust'; minimumTrust: TrustTier; trust: AuthorTrust })
  | { verdict: 'queue'; gate: 'concurrency'; slots: ConcurrencySlot[] }
  | (HoldCommon & { gate: 'reviewers'; reviewers: string[] })
  | { verdict: 'wait'; gate: 'wait-timer'; reason: string; seconds: number; until: number }
  | { verdict: 'admit'; slots: ConcurrencySlot[]; environments: GateEnvironment[] };

/**
 * What happens next to `job`, started by `event`, having got past the gates in `passed`. `clock`
 * dates the hold's expiry and the timer's end; nothing else here reads time.
 */
export function gateJob(job: GatedJob, event: GateEvent, passed: ReadonlySet<PassableGate>, clock: Clock): GateDecision {
  const bound = distinct(job.environments);
  const rejections = bound.flatMap((b) => hardGateRejection(b, event) ?? []);
  if (rejections.length > 0) return { verdict: 'reject', gate: rejections[0]!.gate, reason: rejectionMessage(rejections), rejections };
  const envs = bound.map((b) => ({ name: b.name, environment: b.environment! }));
  const slots = slotsOf(envs, job.concurrencyGroup);
  const holdExpirySeconds = envs.length > 0 ? shortestHoldExpiry(envs) : 0;
  const hold = { holdExpirySeconds, expiresAt: clock.now() + holdExpirySeconds * 1000 };

  const untrusted = passed.has('trust') ? [] : trustShortfall(envs, event.trust);
  if (untrusted.length > 0) return trustHold(untrusted, event.trust!, hold);
  if (slots.length > 0 && !passed.has('concurrency')) return { verdict: 'queue', gate: 'concurrency', slots };
  const reviewed = envs.filter((e) => e.environment.requiredReviewers.length > 0);
  if (reviewed.length > 0 && !passed.has('reviewers')) return reviewersHold(reviewed, hold);
  const timer = passed.has('wait-timer') ? null : longestWaitTimer(envs);
  if (timer) {
    const reason = `waiting ${timer.seconds} s: the wait timer of environment '${timer.environment}'`;
    return { verdict: 'wait', gate: 'wait-timer', reason, seconds: timer.seconds, until: clock.now() + timer.seconds * 1000 };
  }
  return { verdict: 'admit', slots, environments: envs.map((e) => e.environment) };
}

type HoldTiming = Pick<HoldCommon, 'holdExpirySeconds' | 'expiresAt'>;

function trustHold(untrusted: NamedEnvironment[], trust: AuthorTrust, timing: HoldTiming): GateDecision {
  const minimumTrust = highestTrust(untrusted);
  const reason = `held for security review: ${environmentsRequire(untrusted)} a ${minimumTrust} author; this pull request's author is ${trust}`;
  return { verdict: 'hold', gate: 'trust', reason, minimumTrust, trust, ...common(untrusted), ...timing };
}

function reviewersHold(reviewed: NamedEnvironment[], timing: HoldTiming): GateDecision {
  const reviewers = unionOfReviewers(reviewed);
  const reason = `held for review: ${environmentsRequire(reviewed)} approval by ${reviewers.join(', ')} (every reviewer must approve)`;
  return { verdict: 'hold', gate: 'reviewers', reason, reviewers, ...common(reviewed), ...timing };
}

function common(envs: NamedEnvironment[]): Pick<HoldCommon, 'environments' | 'environmentId'> {
  return { environments: envs.map((e) => e.name), environmentId: envs[0]!.environment.id };
}

/** `environment 'a' requires` or `environments 'a', 'b' require`. */
function environmentsRequire(envs: NamedEnvironment[]): string {
  const names = envs.map((e) => `'${e.name}'`).join(', ');
  return envs.length === 1 ? `environment ${names} requires` : `environments ${names} require`;
}

/** A name asked for twice counts once. */
function distinct(bound: readonly BoundEnvironment[]): BoundEnvironment[] {
  const seen = new Set<string>();
  return bound.filter((b) => !seen.has(b.name) && seen.add(b.name));
}
