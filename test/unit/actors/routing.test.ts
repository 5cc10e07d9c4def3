import { describe, it, expect } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import {
  ActorSystem,
  NoRouteError,
  NotShardOwnerError,
  UnknownActorKindError,
  fnv1a,
  shardOf,
  type Envelope,
  type RemoteSend,
} from '../../../src/actors/index.js';
import { ShardTable } from '../../../src/cluster/index.js';

async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Find a key whose shard is `wanted` (or any key not on `avoid`). */
function keyWhere(pred: (shard: number) => boolean): string {
  for (let i = 0; ; i++) if (pred(shardOf(`key-${i}`))) return `key-${i}`;
}

describe('shard hashing', () => {
  it('is FNV-1a 32-bit, stable across releases', () => {
    // Published FNV-1a test vectors.
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
    expect(shardOf('foobar')).toBe(0xbf9cf968 % 256);
    expect(shardOf('3f1c9a52-7d3e-4b8e-9a61-0c1d2e3f4a5b')).toBe(shardOf('3f1c9a52-7d3e-4b8e-9a61-0c1d2e3f4a5b'));
  });

  it('spreads keys over all shards', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 25_600; i++) counts[shardOf(`run-${i}-${(i * 2654435761) >>> 0}`)]!++;
    expect(Math.min(...counts)).toBeGreaterThan(50);
    expect(Math.max(...counts)).toBeLessThan(200);
  });

  it('honours another shard count and refuses a bad one', () => {
    for (let i = 0; i < 100; i++) expect(shardOf(`k${i}`, 16)).toBeLessThan(16);
    expect(() => shardOf('k', 0)).toThrow(RangeError);
  });
});

describe('location-transparent routing', () => {
  function setup(withRemote: boolean) {
    const clock = new ManualClock();
    const map = ShardTable.singleNode('local', 3);
    const remoteKey = keyWhere((s) => s === 7);
    const localKey = keyWhere((s) => s !== 7);
    map.assign(7, { node: 'other', epoch: 9 });
    const told: { node: string; envelope: Envelope }[] = [];
    const asked: { node: string; envelope: Envelope; timeoutMs: number }[] = [];
    const remote: RemoteSend = {
      tell: (node, envelope) => told.push({ node, envelope }),
      ask: async (node, envelope, timeoutMs) => {
        asked.push({ node, envelope, timeoutMs });
        return 'remote-reply';
      },
    };
    const system = new ActorSystem({ nodeId: 'local', clock, shardMap: map, remote: withRemote ? remote : undefined });
    const epochs: number[] = [];
    const handled: unknown[] = [];
    system.register<unknown>('thing', (ctx) => {
      epochs.push(ctx.epoch);
      return {
        receive(msg) {
          handled.push(msg);
          return `local:${ctx.epoch}`;
        },
      };
    });
    return { system, map, told, asked, handled, epochs, remoteKey, localKey };
  }

  it('delivers locally owned shards here, with the shard epoch in the context', async () => {
    const { system, handled, told, localKey } = setup(true);
    await expect(system.ref('thing', localKey).ask('hi', 1_000)).resolves.toBe('local:3');
    expect(handled).toEqual(['hi']);
    expect(told).toHaveLength(0);
  });

  it('hands messages for shards owned elsewhere to the remote sender', async () => {
    const { system, told, asked, handled, remoteKey } = setup(true);
    system.ref('thing', remoteKey).tell({ n: 1 });
    await expect(system.ref('thing', remoteKey).ask({ n: 2 }, 2_500)).resolves.toBe('remote-reply');
    expect(handled).toHaveLength(0);
    expect(told).toEqual([{ node: 'other', envelope: { kind: 'thing', key: remoteKey, shard: 7, epoch: 9, msg: { n: 1 } } }]);
    expect(asked[0]).toMatchObject({ node: 'other', timeoutMs: 2_500, envelope: { shard: 7, msg: { n: 2 } } });
  });

  it('refuses to route a non-owned shard without a remote sender', async () => {
    const { system, remoteKey } = setup(false);
    await expect(system.ref('thing', remoteKey).ask('x', 1_000)).rejects.toBeInstanceOf(NoRouteError);
  });

  it('accepts remote envelopes only for shards it owns', async () => {
    const { system, handled, localKey, remoteKey } = setup(true);
    const mine: Envelope = { kind: 'thing', key: localKey, shard: shardOf(localKey), epoch: 3, msg: 'from-peer' };
    await expect(system.receiveRemote(mine, true)).resolves.toBe('local:3');
    const notMine: Envelope = { kind: 'thing', key: remoteKey, shard: 7, epoch: 9, msg: 'lost' };
    await expect(system.receiveRemote(notMine, false)).rejects.toBeInstanceOf(NotShardOwnerError);
    expect(handled).toEqual(['from-peer']);
    const unknown: Envelope = { ...mine, kind: 'nope' };
    await expect(system.receiveRemote(unknown, false)).rejects.toBeInstanceOf(UnknownActorKindError);
  });

  it('reactivates an actor under the new epoch when its shard epoch moves', async () => {
    const { system, map, epochs, localKey } = setup(true);
    await system.ref('thing', localKey).ask('a', 1_000);
    map.assign(shardOf(localKey), { node: 'local', epoch: 4 });
    await expect(system.ref('thing', localKey).ask('b', 1_000)).resolves.toBe('local:4');
    expect(epochs).toEqual([3, 4]);
  });

  it('routes to the new owner once a shard moves away', async () => {
    const { system, map, told, handled, localKey } = setup(true);
    system.ref('thing', localKey).tell('before');
    await settle();
    map.assign(shardOf(localKey), { node: 'other', epoch: 5 });
    system.ref('thing', localKey).tell('after');
    expect(handled).toEqual(['before']);
    expect(told.map((t) => [t.node, t.envelope.msg, t.envelope.epoch])).toEqual([['other', 'after', 5]]);
  });

  it('reports undeliverable tells as dead letters and rejects asks to unknown kinds', async () => {
    const letters: [string, unknown, string][] = [];
    const system = new ActorSystem({
      nodeId: 'n',
      clock: new ManualClock(),
      onDeadLetter: (target, msg, reason) => letters.push([target.kind, msg, reason.name]),
    });
    system.ref('nobody', 'k').tell('hello?');
    expect(letters).toEqual([['nobody', 'hello?', 'UnknownActorKindError']]);
    await expect(system.ref('nobody', 'k').ask('x', 1_000)).rejects.toBeInstanceOf(UnknownActorKindError);
  });
});
