import { describe, expect, it } from 'vitest';
import { describeScenario, drawScenario, defaultConfig, runSeed } from '../../../src/raft/sim/index.js';

describe('seed replay', async () => {
  it('replays a seed byte-identically (full event trace)', async () => {
    const a = await runSeed(4242, { trace: true });
    const b = await runSeed(4242, { trace: true });
    expect(a.trace.length).toBeGreaterThan(10_000);
    expect(a.trace.split('\n').some((l) => l.includes('fault '))).toBe(true);
    expect(b.trace).toBe(a.trace);
    expect(b.faults).toEqual(a.faults);
    // Tracing only records: it must not change the run.
    const quiet = await runSeed(4242);
    expect(quiet.acked).toBe(a.acked);
    expect(quiet.maxTerm).toBe(a.maxTerm);
  });

  it('different seeds give different runs', async () => {
    const a = await runSeed(1, { trace: true });
    const b = await runSeed(2, { trace: true });
    expect(a.trace).not.toBe(b.trace);
  });

  it('both server drivers replay identically', async () => {
    for (const host of ['loop', 'driver'] as const) {
      const a = await runSeed(31, { host, trace: true });
      expect(a.trace).toBe((await runSeed(31, { host, trace: true })).trace);
      expect(a.acked).toBeGreaterThan(0);
    }
  });

  it('every feature at once (disk faults, clocks, bandwidth, load, reads, membership) replays identically', async () => {
    const choice = { forced: ['disk-faults', 'drift', 'lag', 'bandwidth', 'load', 'reads', 'membership'] as const, plain: false };
    const a = await runSeed(12, { trace: true, choice: { ...choice, forced: [...choice.forced] } });
    const b = await runSeed(12, { trace: true, choice: { ...choice, forced: [...choice.forced] } });
    expect(a.trace).toBe(b.trace);
    expect(a.reads.answered).toBeGreaterThan(0);
    expect(a.trace).toMatch(/client read on n\d sees \d+/);
  });

  it('a 5-node seed replays identically too', async () => {
    expect((await runSeed(77, { nodes: 5, trace: true })).trace).toBe((await runSeed(77, { nodes: 5, trace: true })).trace);
  });

  it('prints a readable fault schedule', async () => {
    const text = describeScenario(drawScenario(9, defaultConfig(3)));
    expect(text).toMatch(/^seed 9: 3 nodes, (storm|measured) mode, .*, heal at 21\.000s/);
    expect(text).toMatch(/faults \(\d+\):/);
    expect(text.split('\n').length).toBeGreaterThan(4);
  });
});

describe('bounds that must be able to fail', async () => {
  it('with pre-vote off, an isolated node inflates the term and the term-growth bound fires', async () => {
    let caught = 0;
    for (let seed = 1; seed <= 80 && caught === 0; seed++) {
      const r = await runSeed(seed, { preVote: false });
      if (r.violations.some((v) => v.property === 'term growth')) caught++;
    }
    expect(caught).toBe(1);
  });
});
