/**
 * The fault hook: what tests and chaos/ do to the links of one node. Per peer and per direction a
 * rule may drop a share of frames, duplicate a share, delay each by a draw from a range, or cut
 * that direction entirely (a one-way cut). Rules act on what callers send — message, request and
 * response frames — while the link's own hello and heartbeats pass, so a lossy or one-way network
 * looks like one to the protocols above and the link stays up. Delays are drawn per frame, so
 * frames may overtake each other, as they can on a real network between two processes.
 *
 * Cutting both ways is a partition: the link is closed (4109) and no link to or from that peer
 * forms again until it is healed, so both sides see the peer go down.
 *
 * The hook exists only where fault injection is allowed: `createPeerFaults(env)` is the one way
 * configuration makes one, and it refuses KICI_FAULT_INJECTION=true unless KICI_DEV=true.
 */
import { z } from 'zod';
import type { Random } from '../../clock/index.js';
import { FaultInjectionRefusedError } from './errors.js';

export interface FaultRule {
  /** Share of frames dropped, in [0, 1]. */
  dropRate?: number;
  /** Share of frames (of those not dropped) delivered twice, in [0, 1]. */
  duplicateRate?: number;
  /** Each frame (and each copy) waits a uniform draw from [min, max] ms. */
  delayMs?: { min: number; max: number };
  /** Drop every frame in this direction. */
  cut?: boolean;
}

export type FaultDirection = 'outbound' | 'inbound';

/** What becomes of one frame: one delivery per entry, each after its delay; empty means dropped. */
export interface FramePlan {
  delaysMs: number[];
}

/** One frame a rule judged. */
export interface AppliedFault {
  peerId: string;
  direction: FaultDirection;
  plan: FramePlan;
}

const rate = z.number().min(0).max(1);
const ruleSchema = z.strictObject({
  dropRate: rate.optional(),
  duplicateRate: rate.optional(),
  delayMs: z
    .strictObject({ min: z.number().int().min(0), max: z.number().int().min(0) })
    .refine((d) => d.min <= d.max, 'min must not exceed max')
    .optional(),
  cut: z.boolean().optional(),
});

const DELIVER_NOW: FramePlan = { delaysMs: [0] };

export class PeerFaults {
  private readonly rules = new Map<string, Partial<Record<FaultDirection, FaultRule>>>();
  private readonly partitions = new Set<string>();
  private readonly partitionListeners = new Set<(peerId: string) => void>();
  private readonly faultListeners = new Set<(fault: AppliedFault) => void>();

  constructor(private readonly random: Random) {}

  /** Replace the rule for `peerId` in one direction or both. */
  set(peerId: string, direction: FaultDirection | 'both', rule: FaultRule): void {
    const parsed = ruleSchema.safeParse(rule);
    if (!parsed.success) throw new TypeError(`fault rule: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(rule)'}: ${i.message}`).join('; ')}`);
    const entry = this.rules.get(peerId) ?? {};
    for (const d of directions(direction)) entry[d] = { ...parsed.data };
    this.rules.set(peerId, entry);
  }

  /**
   * Cut the link to `peerId`: one way drops every caller frame in that direction and keeps the
   * link up; both ways is a partition (the link closes and stays closed until `heal`).
   */
  cut(peerId: string, direction: FaultDirection | 'both'): void {
    if (direction !== 'both') {
      const entry = this.rules.get(peerId) ?? {};
      entry[direction] = { ...entry[direction], cut: true };
      this.rules.set(peerId, entry);
      return;
    }
    this.partitions.add(peerId);
    for (const listener of this.partitionListeners) listener(peerId);
  }

  /** Lift every rule and partition of `peerId`, or of every peer. */
  heal(peerId?: string): void {
    if (peerId === undefined) {
      this.rules.clear();
      this.partitions.clear();
      return;
    }
    this.rules.delete(peerId);
    this.partitions.delete(peerId);
  }

  isPartitioned(peerId: string): boolean {
    return this.partitions.has(peerId);
  }

  /** Draw the fate of one caller frame to or from `peerId`. */
  plan(peerId: string, direction: FaultDirection): FramePlan {
    const rule = this.rules.get(peerId)?.[direction];
    if (!rule) return DELIVER_NOW;
    const plan = this.draw(rule);
    for (const listener of this.faultListeners) listener({ peerId, direction, plan });
    return plan;
  }

  /**
   * Called for every frame a rule judged (whatever it decided), as it is judged: chaos/ counts
   * what the hook did, and tests wait for a frame to have reached the hook.
   */
  onFault(listener: (fault: AppliedFault) => void): () => void {
    this.faultListeners.add(listener);
    return () => this.faultListeners.delete(listener);
  }

  private draw(rule: FaultRule): FramePlan {
    if (rule.cut) return { delaysMs: [] };
    if (rule.dropRate && this.random.next() < rule.dropRate) return { delaysMs: [] };
    const copies = rule.duplicateRate && this.random.next() < rule.duplicateRate ? 2 : 1;
    const delaysMs: number[] = [];
    for (let i = 0; i < copies; i++) delaysMs.push(rule.delayMs ? this.random.int(rule.delayMs.min, rule.delayMs.max) : 0);
    return { delaysMs };
  }

  /** Called with the peer's id whenever it is partitioned; the links close its link at once. */
  onPartition(listener: (peerId: string) => void): () => void {
    this.partitionListeners.add(listener);
    return () => this.partitionListeners.delete(listener);
  }
}

function directions(direction: FaultDirection | 'both'): FaultDirection[] {
  return direction === 'both' ? ['outbound', 'inbound'] : [direction];
}

export type FaultInjectionVerdict =
  | { requested: false; allowed: false; reason: string }
  | { requested: true; allowed: boolean; reason: string };

/**
 * Whether the environment asks for fault injection, and whether it may have it. Only
 * KICI_FAULT_INJECTION=true asks; it is allowed only with KICI_DEV=true, because a production node
 * that drops and delays its own cluster traffic on purpose is an outage waiting for a typo. A value
 * other than true or false is refused too, rather than guessed at.
 */
export function faultInjectionAllowed(env: Readonly<Record<string, string | undefined>>): FaultInjectionVerdict {
  const value = env.KICI_FAULT_INJECTION;
  if (value === undefined || value === '' || value === 'false') {
    return { requested: false, allowed: false, reason: 'fault injection is off (KICI_FAULT_INJECTION is not true)' };
  }
  if (value !== 'true') return { requested: true, allowed: false, reason: 'KICI_FAULT_INJECTION must be true or false' };
  if (env.KICI_DEV !== 'true') {
    return {
      requested: true,
      allowed: false,
      reason: 'KICI_FAULT_INJECTION=true is refused unless KICI_DEV=true: fault injection drops, delays and cuts cluster traffic on purpose and is for tests and chaos runs only',
    };
  }
  return { requested: true, allowed: true, reason: 'fault injection is on (KICI_FAULT_INJECTION=true with KICI_DEV=true)' };
}

/**
 * The fault hook the environment allows: undefined when fault injection is off, a hook when it is
 * on and allowed, and a FaultInjectionRefusedError (the node must not start) when it is refused.
 */
export function createPeerFaults(env: Readonly<Record<string, string | undefined>>, random: Random): PeerFaults | undefined {
  const verdict = faultInjectionAllowed(env);
  if (!verdict.requested) return undefined;
  if (!verdict.allowed) throw new FaultInjectionRefusedError(verdict.reason);
  return new PeerFaults(random);
}
