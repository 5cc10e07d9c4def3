import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, PLAIN_FEATURES, defaultConfig, drawFeatures, drawScenario } from '../../../src/raft/sim/index.js';

describe('seed features', () => {
  it('plain turns everything off; a flag forces its feature on in every seed', () => {
    for (let seed = 1; seed <= 20; seed++) {
      expect(drawFeatures(seed, { forced: [], plain: true })).toEqual(PLAIN_FEATURES);
      const f = drawFeatures(seed, { forced: ['disk-faults', 'reads'], plain: true });
      expect(f.diskFaults && f.store === 'file' && f.reads !== null).toBe(true);
      expect(f.drift).toBe(0);
    }
  });

  it('by default each feature is drawn by its share', () => {
    const on = Object.fromEntries(FEATURE_NAMES.map((n) => [n, 0])) as Record<string, number>;
    for (let seed = 1; seed <= 400; seed++) {
      const f = drawFeatures(seed);
      if (f.store === 'file') on.file++;
      if (f.diskFaults) on['disk-faults']++;
      if (f.drift > 0) on.drift++;
      if (f.lag.mean > 0) on.lag++;
      if (f.bandwidth > 0) on.bandwidth++;
      if (f.load) on.load++;
      if (f.reads) on.reads++;
      if (f.membership) on.membership++;
    }
    expect(on.drift).toBeGreaterThan(240);
    expect(on.load).toBeGreaterThan(20);
    expect(on.load).toBeLessThan(70);
    expect(on['disk-faults']).toBeGreaterThan(30);
    expect(on.file).toBeGreaterThan(on['disk-faults']);
  });

  it('a seed keeps its main fault schedule whatever features it runs with', () => {
    // Every feature that adds no episodes of its own, on or off.
    const main = (plain: boolean): string[] =>
      drawScenario(7, defaultConfig(3), { forced: plain ? [] : ['drift', 'lag', 'bandwidth', 'load', 'reads', 'file'], plain })
        .episodes.map((e) => `${e.kind}@${e.start.toFixed(3)}`);
    const forced = drawScenario(7, defaultConfig(3), { forced: ['disk-faults', 'membership'], plain: true });
    expect(main(false)).toEqual(main(true));
    expect(forced.episodes.some((e) => e.kind.startsWith('disk_'))).toBe(true);
    // Disk faults all hit one server.
    expect(new Set(forced.episodes.filter((e) => e.kind.startsWith('disk_')).map((e) => e.target)).size).toBe(1);
  });
});
