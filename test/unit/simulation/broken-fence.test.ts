/**
 * The checker catches what the fence prevents: with the store's fence broken (it takes a write at
 * any epoch while the shard has a row), a deposed owner's writes go through and invariant 6 is
 * reported; the same seed with the real fence has none.
 */
import { describe, expect, it } from 'vitest';
import { runClusterSeed } from '../../../src/simulation/index.js';

describe('cluster simulation with the fence broken', () => {
  it('reports a deposed owner\'s write below the shard\'s epoch (invariant 6)', async () => {
    const broken = await runClusterSeed(2, { brokenFence: true });
    const six = broken.violations.filter((v) => v.invariant === '6');
    expect(six.length).toBeGreaterThan(0);
    expect(six[0].kind).toBe('write-below-row');
    expect(six[0].text).toMatch(/^n\d wrote .* at epoch \d+, below the shard's row at \d+$/);
  });

  it('reports nothing of the kind with the real fence', async () => {
    const fenced = await runClusterSeed(2);
    expect(fenced.violations.filter((v) => v.invariant === '6')).toEqual([]);
  });
});
