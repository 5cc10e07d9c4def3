/** The simulated network: ordered links keep order and lose frames only with a cut; cuts nest. */
import { describe, expect, it } from 'vitest';
import { SimRandom } from '../../../src/raft/index.js';
import { SimLoop } from '../../../src/simulation/loop.js';
import { SimNetwork, type Frame, type NetworkParams } from '../../../src/simulation/network.js';

const ORDERED: NetworkParams = { mode: 'ordered', minDelay: 1, maxDelay: 20, drop: 0.5, duplicate: 0.5, reorder: 0.5 };

async function deliver(params: NetworkParams, send: (net: SimNetwork) => void): Promise<Frame[]> {
  const loop = new SimLoop();
  const net = new SimNetwork(loop, new SimRandom(1), params);
  const got: Frame[] = [];
  net.attach('b', (f) => got.push(f));
  send(net);
  await loop.runUntil(10_000, () => false);
  return got;
}

describe('SimNetwork', () => {
  it('delivers every frame of an ordered link once, in order, whatever the lossy rates say', async () => {
    const got = await deliver(ORDERED, (net) => {
      for (let i = 0; i < 200; i++) net.send({ from: 'a', to: 'b', kind: 'n', body: i });
    });
    expect(got.map((f) => f.body)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('drops, duplicates and reorders on the lossy network', async () => {
    const got = await deliver({ ...ORDERED, mode: 'lossy', drop: 0.2, duplicate: 0.2, reorder: 0.3 }, (net) => {
      for (let i = 0; i < 200; i++) net.send({ from: 'a', to: 'b', kind: 'n', body: i });
    });
    const bodies = got.map((f) => f.body as number);
    expect(new Set(bodies).size).toBeLessThan(200);
    expect(bodies.length).toBeGreaterThan(new Set(bodies).size);
    expect(bodies).not.toEqual([...bodies].sort((x, y) => x - y));
  });

  it('loses what crosses a cut link, both ways for cutBoth, until every cut on it heals', async () => {
    const got = await deliver(ORDERED, (net) => {
      net.cutBoth('a', 'b');
      net.cut('a', 'b');
      net.send({ from: 'a', to: 'b', kind: 'n', body: 'cut twice' });
      net.healBoth('a', 'b');
      net.send({ from: 'a', to: 'b', kind: 'n', body: 'still cut once' });
      net.heal('a', 'b');
      net.send({ from: 'a', to: 'b', kind: 'n', body: 'healed' });
    });
    expect(got.map((f) => f.body)).toEqual(['healed']);
  });

  it('loses a frame for a node with no process attached', async () => {
    const got = await deliver(ORDERED, (net) => net.send({ from: 'a', to: 'c', kind: 'n', body: 1 }));
    expect(got).toEqual([]);
  });
});
