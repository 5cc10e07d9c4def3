import { describe, expect, it } from 'vitest';
import { RACE_WINDOW_MS, REVIEW_MIX, reviewKey, reviewPlan, type ReviewKind } from '../../../chaos/reviewer.js';

const keys = Array.from({ length: 2000 }, (_, i) => `chaos/d-${i + 1}/release`);

describe("the chaos reviewer's plan for a hold", () => {
  it('is a function of the seed and the hold: the same twice, another for another seed', () => {
    const once = keys.map((k) => reviewPlan(7, k));
    expect(keys.map((k) => reviewPlan(7, k))).toEqual(once);
    const other = keys.map((k) => reviewPlan(8, k));
    expect(other.filter((p, i) => p.kind !== once[i]!.kind).length).toBeGreaterThan(keys.length / 4);
  });

  it('approves most, rejects some, leaves some to expire and races the expiry with some, near the mix', () => {
    for (const seed of [1, 2, 42]) {
      const counts: Record<ReviewKind, number> = { approve: 0, reject: 0, expire: 0, race: 0 };
      for (const k of keys) counts[reviewPlan(seed, k).kind]++;
      for (const kind of Object.keys(counts) as ReviewKind[]) expect(Math.abs(counts[kind] / keys.length - REVIEW_MIX[kind])).toBeLessThan(0.04);
      expect(counts.approve).toBeGreaterThan(counts.reject + counts.expire + counts.race);
    }
  });

  it('says what to vote and when: at once for approve and reject, none for expire, around the expiry for a race', () => {
    const plans = keys.map((k) => reviewPlan(3, k));
    for (const p of plans) {
      if (p.kind === 'approve' || p.kind === 'reject') {
        expect(p.verdict).toBe(p.kind);
        expect(p.delayMs).toBeGreaterThanOrEqual(0);
        expect(p.delayMs).toBeLessThanOrEqual(400);
      } else if (p.kind === 'expire') {
        expect(p.verdict).toBeUndefined();
      } else {
        expect(['approve', 'reject']).toContain(p.verdict);
        expect(p.delayMs).toBeGreaterThanOrEqual(RACE_WINDOW_MS[0]);
        expect(p.delayMs).toBeLessThanOrEqual(RACE_WINDOW_MS[1]);
      }
    }
    const races = plans.filter((p) => p.kind === 'race');
    // Both verdicts race, some before the expiry and most after it.
    expect(new Set(races.map((p) => p.verdict))).toEqual(new Set(['approve', 'reject']));
    expect(races.some((p) => p.delayMs < 0)).toBe(true);
    expect(races.some((p) => p.delayMs > 2000)).toBe(true);
  });

  it("names a hold by its delivery's branch and job, so a replay (new run ids) plans alike", () => {
    const a = reviewKey({ deliveryId: 'src-1:refs/heads/chaos/d-17:abc123', runId: 'r-1', jobName: 'release' });
    const b = reviewKey({ deliveryId: 'src-2:refs/heads/chaos/d-17:abc123', runId: 'r-2', jobName: 'release' });
    expect(a).toBe('chaos/d-17/release');
    expect(b).toBe(a);
    expect(reviewKey({ deliveryId: null, runId: 'r-3', jobName: 'release' })).toBe('r-3/release');
  });
});
