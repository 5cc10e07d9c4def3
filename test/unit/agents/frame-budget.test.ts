import { describe, expect, it } from 'vitest';
import { AGENT_FRAME_LIMITS, FrameBudget, limitsForSlots } from '../../../src/agents/index.js';
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

/** A short job as an agent reports it: job.ack, job.status running, step running, a log.chunk, step done, the result. */
const SHORT_JOB_FRAMES = 6;
const FRAME_BYTES = 300;

/** Send `perSecond` frames a second in 10 ms ticks for `seconds`; the verdict kinds seen, and when it closed. */
function stream(clock: ManualClock, budget: FrameBudget, perSecond: number, seconds: number, frameBytes = FRAME_BYTES) {
  const seen = new Set<string>();
  const perTick = perSecond / 100;
  let owed = 0;
  for (let tick = 0; tick < seconds * 100; tick++) {
    owed += perTick;
    for (; owed >= 1; owed--) {
      const verdict = budget.admit(frameBytes);
      seen.add(verdict.kind);
      if (verdict.kind === 'close') return { seen, closedAtMs: tick * 10 };
    }
    clock.advance(10);
  }
  return { seen, closedAtMs: undefined };
}

describe('limitsForSlots', () => {
  it("keeps KiCI's numbers for a small agent, and never allows a bigger single frame", () => {
    expect(limitsForSlots(1)).toEqual({ ...AGENT_FRAME_LIMITS, maxFrameBytes: 2 * MiB });
    expect(limitsForSlots(1)).toEqual(limitsForSlots(0));
    const big = new FrameBudget(new ManualClock(), limitsForSlots(1000));
    expect(big.oversize(2 * MiB)).toBeUndefined();
    expect(big.oversize(2 * MiB + 1)).toMatch(/exceeds the 2097152-byte limit/);
  });

  it('gives each slot 60 messages/s and 128 KiB/s past the floor, bursts two seconds of each', () => {
    expect(limitsForSlots(2)).toMatchObject({ messagesPerSecond: 120, messageBurst: 240, bytesPerSecond: 500 * 1024, byteBurst: 2 * MiB });
    // 3,200 KiB/s is 6.4 times the floor's 500 KiB/s, so the byte burst is 6.4 times 2 MiB.
    expect(limitsForSlots(25)).toMatchObject({ messagesPerSecond: 1_500, messageBurst: 3_000, bytesPerSecond: 3_200 * 1024, byteBurst: Math.round(12.8 * MiB) });
    expect(limitsForSlots(64)).toMatchObject({ messagesPerSecond: 3_840, bytesPerSecond: 8 * MiB });
  });

  it('scales a custom floor by the same rule, keeping its burst ratio', () => {
    const base = { ...AGENT_FRAME_LIMITS, messageBurst: 5 };
    expect(limitsForSlots(1, base).messageBurst).toBe(5);
    expect(limitsForSlots(25, base)).toMatchObject({ messagesPerSecond: 1_500, messageBurst: 75 });
  });

  it('lets 25 slots finish ten short jobs a second each (1,500 frames/s) for a minute without a warning', () => {
    const clock = new ManualClock(0);
    const budget = new FrameBudget(clock, limitsForSlots(25));
    const { seen, closedAtMs } = stream(clock, budget, 25 * 10 * SHORT_JOB_FRAMES, 60);
    expect(closedAtMs).toBeUndefined();
    expect(seen).toEqual(new Set(['within']));
  });

  it("carries the issue's 25 short jobs/s a 25-slot agent, which KiCI's flat budget closed", () => {
    const perSecond = 25 * SHORT_JOB_FRAMES;
    const flatClock = new ManualClock(0);
    const flat = stream(flatClock, new FrameBudget(flatClock), perSecond, 30);
    expect(flat.closedAtMs).toBeDefined();
    const clock = new ManualClock(0);
    expect(stream(clock, new FrameBudget(clock, limitsForSlots(25)), perSecond, 30).seen).toEqual(new Set(['within']));
  });

  it('still closes a 25-slot agent that floods at twice its budget, once it has gone on for more than 5 s', () => {
    const clock = new ManualClock(0);
    const budget = new FrameBudget(clock, limitsForSlots(25));
    // The 3,000-frame burst lasts 2 s at a deficit of 1,500/s; then 5 s of violations.
    const { seen, closedAtMs } = stream(clock, budget, 3_000, 20);
    expect(seen.has('over')).toBe(true);
    expect(closedAtMs).toBeGreaterThanOrEqual(7_000);
    expect(closedAtMs).toBeLessThan(7_200);
  });

  it('meters the scaled bytes too: 25 slots of log past 3,200 KiB/s are over', () => {
    const clock = new ManualClock(0);
    const budget = new FrameBudget(clock, limitsForSlots(25));
    // 100 frames of 64 KiB a second: 6,400 KiB/s, twice the rate, well within the message rate.
    const { seen, closedAtMs } = stream(clock, budget, 100, 20, 64 * 1024);
    expect(seen.has('over')).toBe(true);
    expect(closedAtMs).toBeDefined();
  });
});

describe('FrameBudget.retune', () => {
  it('meters by the new limits from now on, without topping up the buckets', () => {
    const { clock, budget } = fresh();
    for (let i = 0; i < 200; i++) budget.admit(10);
    budget.retune(limitsForSlots(25));
    expect(budget.admit(10).kind).toBe('over');
    clock.advance(100);
    // 150 messages refilled at the new 1,500/s.
    for (let i = 0; i < 150; i++) expect(budget.admit(10).kind).toBe('within');
    expect(budget.admit(10).kind).toBe('over');
  });

  it('clamps what is left to a smaller burst, so re-registering with fewer slots buys nothing', () => {
    const clock = new ManualClock(0);
    const budget = new FrameBudget(clock, limitsForSlots(25));
    budget.retune(AGENT_FRAME_LIMITS);
    for (let i = 0; i < 200; i++) expect(budget.admit(10).kind).toBe('within');
    expect(budget.admit(10).kind).toBe('over');
    // Retuning to the same limits (a re-register) refills nothing either.
    budget.retune(AGENT_FRAME_LIMITS);
    expect(budget.admit(10).kind).toBe('over');
  });

  it('keeps a violation streak across a retune', () => {
    const { clock, budget } = fresh();
    for (let i = 0; i < 200; i++) budget.admit(10);
    let last = budget.admit(10);
    for (let ms = 0; ms < 6_000 && last.kind !== 'close'; ms++) {
      if (ms % 500 === 0) budget.retune(AGENT_FRAME_LIMITS);
      clock.advance(1);
      last = budget.admit(10);
      for (let i = 0; i < 2 && last.kind !== 'close'; i++) last = budget.admit(10);
    }
    expect(last).toMatchObject({ kind: 'close' });
  });
});
