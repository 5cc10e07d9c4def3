import { describe, expect, it } from 'vitest';
import { describeScenario, drawScenario, defaultConfig, runSeed } from '../../../src/raft/sim/index.js';

describe('seed replay', () => {
  it('replays a seed byte-identically (full event trace)', () => {
    const a = runSeed(4242, { trace: true });
    const b = runSeed(4242, { trace: true });
    expect(a.trace.length).toBeGreaterThan(10_000);
    expect(a.trace.split('\n').some((l) => l.includes('fault '))).toBe(true);
    expect(b.trace).toBe(a.trace);
    expect(b.faults).toEqual(a.faults);
    // Tracing only records: it must not change the run.
    const quiet = runSeed(4242);
    expect(quiet.acked).toBe(a.acked);
    expect(quiet.maxTerm).toBe(a.maxTerm);
  });

  it('different seeds give different runs', () => {
    const a = runSeed(1, { trace: true });
    const b = runSeed(2, { trace: true });
    expect(a.trace).not.toBe(b.trace);
  });

  it('both server drivers replay identically', () => {
    for (const host of ['loop', 'driver'] as const) {
      const a = runSeed(31, { host, trace: true });
      expect(a.trace).toBe(runSeed(31, { host, trace: true }).trace);
      expect(a.acked).toBeGreaterThan(0);
    }
  });

  it('a 5-node seed replays identically too', () => {
    expect(runSeed(77, { nodes: 5, trace: true }).trace).toBe(runSeed(77, { nodes: 5, trace: true }).trace);
  });

  it('prints a readable fault schedule', () => {
    const text = describeScenario(drawScenario(9, defaultConfig(3)));
    expect(text).toMatch(/^seed 9: 3 nodes, (storm|measured) mode, .*, heal at 21\.000s/);
    expect(text).toMatch(/faults \(\d+\):/);
    expect(text.split('\n').length).toBeGreaterThan(4);
  });
});

describe('bounds that must be able to fail', () => {
  it('with pre-vote off, an isolated node inflates the term and the term-growth bound fires', () => {
    let caught = 0;
    for (let seed = 1; seed <= 80 && caught === 0; seed++) {
      const r = runSeed(seed, { preVote: false });
      if (r.violations.some((v) => v.property === 'term growth')) caught++;
    }
    expect(caught).toBe(1);
  });
});
