import { describe, expect, it } from 'vitest';
import type { Message } from '../../../src/raft/types.js';
import { EventQueue, SimNetwork, SimRandom, messageBytes, type NetworkParams } from '../../../src/raft/sim/index.js';

const QUIET: NetworkParams = { minDelay: 1, maxDelay: 5, drop: 0, duplicate: 0, reorder: 0 };

function setup(params: Partial<NetworkParams> = {}) {
  const queue = new EventQueue();
  const got: { msg: Message; at: number }[] = [];
  const net = new SimNetwork(queue, new SimRandom(7), 3, { ...QUIET, ...params }, (msg) => got.push({ msg, at: queue.now() }));
  const send = (from: number, to: number, term = 1): void => net.send({ type: 'heartbeat', from, to, term });
  const flush = (): void => {
    while (queue.step(Infinity)) {
      /* run everything */
    }
  };
  return { queue, net, got, send, flush };
}

describe('simulated network', () => {
  it('delivers every message once within the delay bounds when quiet', () => {
    const { got, send, flush } = setup();
    for (let i = 0; i < 100; i++) send(1, 2, i);
    flush();
    expect(got).toHaveLength(100);
    for (const g of got) {
      expect(g.at).toBeGreaterThanOrEqual(1);
      expect(g.at).toBeLessThanOrEqual(5);
    }
    expect(new Set(got.map((g) => g.msg.term)).size).toBe(100);
  });

  it('drops everything at drop rate 1 and about half at 0.5', () => {
    const all = setup({ drop: 1 });
    for (let i = 0; i < 50; i++) all.send(1, 2);
    all.flush();
    expect(all.got).toHaveLength(0);
    expect(all.net.stats.dropped).toBe(50);

    const half = setup({ drop: 0.5 });
    for (let i = 0; i < 1000; i++) half.send(1, 2);
    half.flush();
    expect(half.got.length).toBeGreaterThan(400);
    expect(half.got.length).toBeLessThan(600);
  });

  it('duplicates every message at duplicate rate 1', () => {
    const { got, send, flush, net } = setup({ duplicate: 1 });
    for (let i = 0; i < 20; i++) send(1, 2, i);
    flush();
    expect(got).toHaveLength(40);
    expect(net.stats.duplicated).toBe(20);
    for (let i = 0; i < 20; i++) expect(got.filter((g) => g.msg.term === i)).toHaveLength(2);
  });

  it('reorders: held-back messages are overtaken by later ones', () => {
    const { got, send, flush } = setup({ minDelay: 1, maxDelay: 1, reorder: 0.3 });
    for (let i = 0; i < 200; i++) send(1, 2, i);
    flush();
    expect(got).toHaveLength(200);
    const order = got.map((g) => g.msg.term);
    const inversions = order.filter((t, i) => i > 0 && t < order[i - 1]).length;
    expect(inversions).toBeGreaterThan(0);
  });

  it('cuts one way only: A→B lost while B→A, A→C and C→B still flow', () => {
    const { net, got, send, flush } = setup();
    net.cut(1, 2);
    send(1, 2, 1);
    send(2, 1, 2);
    send(1, 3, 3);
    send(3, 2, 4);
    flush();
    expect(got.map((g) => g.msg.term).sort()).toEqual([2, 3, 4]);
    expect(net.stats.cutLost).toBe(1);
  });

  it('loses a message in flight when its link is cut before it lands', () => {
    const { net, got, send, queue } = setup({ minDelay: 10, maxDelay: 10 });
    send(1, 2);
    queue.step(0); // nothing due yet
    net.cutBoth(1, 2);
    while (queue.step(Infinity)) {
      /* run */
    }
    expect(got).toHaveLength(0);
  });

  it('nests cuts: a link cut twice stays cut until both heal', () => {
    const { net } = setup();
    net.cutBoth(1, 2);
    net.cut(1, 2);
    net.healBoth(1, 2);
    expect(net.isCut(1, 2)).toBe(true);
    expect(net.isCut(2, 1)).toBe(false);
    net.heal(1, 2);
    expect(net.isCut(1, 2)).toBe(false);
    net.cutBoth(2, 3);
    net.healAll();
    expect(net.isCut(3, 2)).toBe(false);
  });
});

describe('simulated network with a bandwidth cap', () => {
  const append = (from: number, to: number, bytes: number, term: number): Message => ({
    type: 'append',
    from,
    to,
    term,
    entries: [{ index: 1, term: 1, type: 'normal', data: new Uint8Array(bytes) }],
  });

  it('estimates a message by what it carries', () => {
    expect(messageBytes({ type: 'heartbeat', from: 1, to: 2, term: 1 })).toBe(64);
    expect(messageBytes(append(1, 2, 1000, 1))).toBe(64 + 24 + 1000);
  });

  it('sends in order on each link, each message taking size / bandwidth after the ones before it', () => {
    const { net, got, flush } = setup({ minDelay: 1, maxDelay: 1, bandwidth: 1000 });
    net.send(append(1, 2, 9912, 1)); // 10,000 bytes: 10 ms on the wire
    net.send({ type: 'heartbeat', from: 1, to: 2, term: 2 }); // waits behind it
    net.send({ type: 'heartbeat', from: 1, to: 3, term: 3 }); // another link: not delayed
    flush();
    const at = (term: number): number => got.find((g) => g.msg.term === term)?.at ?? -1;
    expect(at(1)).toBeCloseTo(11, 6);
    expect(at(2)).toBeCloseTo(11.064, 6);
    expect(at(3)).toBeCloseTo(1.064, 6);
    expect(net.stats.bytes).toBe(10_000 + 64 + 64);
  });
});
