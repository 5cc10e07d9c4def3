/** A seed replays byte for byte: the same seed, options and code give the same trace and digest. */
import { describe, expect, it } from 'vitest';
import { runClusterSeed } from '../../../src/simulation/index.js';

describe('cluster simulation replay', () => {
  it('runs one seed twice to the same trace, line for line, and the same digest', async () => {
    // Seed 6 has crashes, partitions, shard moves and jobs across nodes: a lot to get the same twice.
    const first = await runClusterSeed(6);
    const second = await runClusterSeed(6);
    expect(first.trace.length).toBeGreaterThan(100);
    expect(second.trace).toEqual(first.trace);
    expect(second.digest).toBe(first.digest);
    expect(second.violations).toEqual(first.violations);
  });

  it('replays the lossy network too', async () => {
    const first = await runClusterSeed(10, { shape: { network: 'lossy' } });
    const second = await runClusterSeed(10, { shape: { network: 'lossy' } });
    expect(second.digest).toBe(first.digest);
  });

  it('gives different seeds different traces', async () => {
    const [a, b] = [await runClusterSeed(3), await runClusterSeed(4)];
    expect(a.digest).not.toBe(b.digest);
  });
});
