import { describe, it, expect } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { ActorSystem, NodePinnedKindError, type Envelope, type RemoteSend } from '../../../src/actors/index.js';
import { ShardTable } from '../../../src/cluster/index.js';

/** Every shard lives on another node: only a node-pinned kind can be handled here. */
function remoteOwnedSystem() {
  const told: { node: string; envelope: Envelope }[] = [];
  const remote: RemoteSend = {
    tell: (node, envelope) => void told.push({ node, envelope }),
    ask: async () => 'remote-reply',
  };
  const system = new ActorSystem({
    nodeId: 'here',
    clock: new ManualClock(),
    shardMap: ShardTable.singleNode('elsewhere', 4),
    remote,
  });
  const epochs: number[] = [];
  const seen: unknown[] = [];
  const factory = (ctx: { epoch: number; key: string }) => {
    epochs.push(ctx.epoch);
    return { receive: (msg: unknown) => (seen.push(msg), `${ctx.key}:${String(msg)}`) };
  };
  system.register('socketish', factory, { placement: 'node' });
  system.register('sharded', factory);
  return { system, told, epochs, seen };
}

describe('node placement', () => {
  it('delivers a node kind locally even when its shard belongs to another node, at epoch 0', async () => {
    const r = remoteOwnedSystem();
    r.system.ref('socketish', 'a1').tell('hello');
    expect(await r.system.ref('socketish', 'a1').ask('again', 1_000)).toBe('a1:again');
    expect(r.seen).toEqual(['hello', 'again']);
    expect(r.epochs).toEqual([0]);
    expect(r.told).toHaveLength(0);
    expect(r.system.isActive('socketish', 'a1')).toBe(true);
  });

  it('still routes a shard kind (the default) to the shard owner', async () => {
    const r = remoteOwnedSystem();
    r.system.ref('sharded', 'a1').tell('hello');
    expect(r.told).toEqual([{ node: 'elsewhere', envelope: expect.objectContaining({ kind: 'sharded', key: 'a1', epoch: 4 }) }]);
    expect(r.seen).toHaveLength(0);
  });

  it('refuses a node kind arriving from another node', async () => {
    const system = new ActorSystem({ nodeId: 'here', clock: new ManualClock() });
    const seen: unknown[] = [];
    system.register('socketish', () => ({ receive: (m: unknown) => void seen.push(m) }), { placement: 'node' });
    const envelope: Envelope = { kind: 'socketish', key: 'a1', shard: system.shardOf('a1'), epoch: 1, msg: 'x' };
    await expect(system.receiveRemote(envelope, false)).rejects.toBeInstanceOf(NodePinnedKindError);
    await expect(system.receiveRemote(envelope, true)).rejects.toBeInstanceOf(NodePinnedKindError);
    expect(seen).toHaveLength(0);
  });

  it('keeps a node kind active when the shard its key hashes to is passivated', async () => {
    const system = new ActorSystem({ nodeId: 'here', clock: new ManualClock() });
    system.register('socketish', () => ({ receive: () => 'ok' }), { placement: 'node' });
    system.register('sharded', () => ({ receive: () => 'ok' }));
    await system.ref('socketish', 'a1').ask('hi', 1_000);
    await system.ref('sharded', 'a1').ask('hi', 1_000);
    await system.passivateShard(system.shardOf('a1'));
    expect(system.isActive('socketish', 'a1')).toBe(true);
    expect(system.isActive('sharded', 'a1')).toBe(false);
  });
});
