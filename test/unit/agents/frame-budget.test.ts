import { describe, expect, it } from 'vitest';
import { AGENT_FRAME_LIMITS, FrameBudget } from '../../../src/agents/index.js';
import { ManualClock } from '../../../src/clock/index.js';

const MiB = 1024 * 1024;

function fresh() {
  const clock = new ManualClock(0);
  return { clock, budget: new FrameBudget(clock) };
}

describe('FrameBudget', () => {
  it('takes a burst of 200 small frames, then answers over with a retry hint and one warning', () => {
    const { budget } = fresh();
    for (let i = 0; i < 200; i++) expect(budget.admit(100).kind).toBe('within');
    const over = budget.admit(100);
    expect(over).toEqual({ kind: 'over', retryAfterMs: 10, warn: true });
    // A flood is not answered by a flood of warnings.
    expect(budget.admit(100)).toMatchObject({ kind: 'over', warn: false });
  });

  it('refills 100 messages a second', () => {
    const { clock, budget } = fresh();
    for (let i = 0; i < 200; i++) budget.admit(10);
    expect(budget.admit(10).kind).toBe('over');
    clock.advance(500);
    for (let i = 0; i < 50; i++) expect(budget.admit(10).kind).toBe('within');
    expect(budget.admit(10).kind).toBe('over');
  });

  it('meters bytes: 2 MiB burst, refilled at 500 KiB/s', () => {
    const { clock, budget } = fresh();
    expect(budget.admit(MiB).kind).toBe('within');
    expect(budget.admit(MiB).kind).toBe('within');
    const over = budget.admit(512 * 1024);
    expect(over.kind).toBe('over');
    if (over.kind === 'over') expect(over.retryAfterMs).toBe(1024); // 512 KiB at 500 KiB/s
    clock.advance(2_000);
    expect(budget.admit(900 * 1024).kind).toBe('within');
  });

  it('refuses a frame bigger than the byte burst (and 4 MiB) outright', () => {
    const { budget } = fresh();
    expect(budget.oversize(2 * MiB)).toBeUndefined();
    expect(budget.oversize(2 * MiB + 1)).toMatch(/exceeds/);
    expect(budget.admit(3 * MiB)).toMatchObject({ kind: 'close' });
    const roomy = new FrameBudget(new ManualClock(), { ...AGENT_FRAME_LIMITS, byteBurst: 64 * MiB });
    expect(roomy.oversize(4 * MiB)).toBeUndefined();
    expect(roomy.oversize(4 * MiB + 1)).toMatch(/exceeds/);
  });

  it('closes only once violations have gone on for more than 5 s', () => {
    const { clock, budget } = fresh();
    for (let i = 0; i < 200; i++) budget.admit(10);
    const kinds: string[] = [];
    // 1000 frames a second, ten times the refill rate, for 6 s.
    for (let ms = 0; ms <= 6_000; ms++) {
      const verdict = budget.admit(10);
      kinds.push(verdict.kind);
      if (verdict.kind === 'close') break;
      clock.advance(1);
    }
    const closedAt = kinds.indexOf('close');
    expect(closedAt).toBeGreaterThan(5_000);
    expect(closedAt).toBeLessThan(5_100);
    // Over-limit frames are charged too, so a flood never earns its way back under the limit.
    expect(new Set(kinds.slice(0, closedAt))).toEqual(new Set(['over']));
  });

  it('forgives a violation streak after a quiet second, and warns again', () => {
    const { clock, budget } = fresh();
    for (let i = 0; i < 201; i++) budget.admit(10);
    clock.advance(4_000);
    for (let i = 0; i < 201; i++) budget.admit(10);
    clock.advance(4_000);
    // Violations at 0 s and 4 s, separated by quiet: no sustained streak, so no close.
    for (let i = 0; i < 200; i++) budget.admit(10);
    const again = budget.admit(10);
    expect(again).toMatchObject({ kind: 'over', warn: true });
  });

  it('keeps a streak alive while violations keep coming less than a second apart', () => {
    const { clock, budget } = fresh();
    for (let i = 0; i < 201; i++) budget.admit(10);
    let last = budget.admit(10);
    for (let t = 0; t < 12 && last.kind !== 'close'; t++) {
      clock.advance(500);
      for (let i = 0; i < 60 && last.kind !== 'close'; i++) last = budget.admit(10);
    }
    expect(last).toMatchObject({ kind: 'close', reason: expect.stringContaining('5 s') });
  });
});
