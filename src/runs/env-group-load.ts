/**
 * What an EnvGroupActor rebuilds from (its `load` port): the slots unfinished jobs hold or wait
 * for in one group, as their runs stored them on the jobs (`JobRecord.gate`). Both stores answer
 * through this, the in-memory one from its records and the PostgreSQL one from the rows it selects.
 */
import type { StoredEnvGroup } from '../environments/index.js';
import type { GateSlot } from './gate-ports.js';

/** One unfinished job's slot in the group. */
export interface StoredSlot {
  runId: string;
  jobId: string;
  slot: GateSlot;
}

/**
 * Holders and waiters (oldest request first, then job id, so every rebuild lines them up alike),
 * and the newest rules any of them read (a group that lost its memory admits nobody without rules).
 */
export function storedEnvGroup(slots: readonly StoredSlot[]): StoredEnvGroup {
  const ref = (s: StoredSlot) => ({ runId: s.runId, jobId: s.jobId });
  const waiting = slots
    .filter((s) => s.slot.state === 'waiting')
    .sort((a, b) => a.slot.requestedAt - b.slot.requestedAt || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
  const newest = slots.reduce<GateSlot | undefined>((best, s) => (!best || s.slot.rulesAt > best.rulesAt ? s.slot : best), undefined);
  return {
    running: slots.filter((s) => s.slot.state === 'held').map(ref),
    waiting: waiting.map(ref),
    ...(newest && { settings: { limit: newest.limit, strategy: newest.strategy, rulesAt: newest.rulesAt } }),
  };
}
