/**
 * RemoteDelivery, the actor system's remote port, over an in-memory wire on a manual clock that
 * can lose a request or its answer, or deliver a request twice: a duplicate is applied once, a
 * resent ask gets the first answer, "moved" is followed, and the deadline bounds every try.
 */
import { describe, expect, it } from 'vitest';
import {
  ActorDeliveryTimeoutError,
  ActorSystem,
  RemoteDelivery,
  type ActorWire,
  type Envelope,
  type RemoteAnswer,
  type RemoteMessage,
  type ShardMap,
  type ShardOwner,
} from '../../../src/actors/index.js';
import { ManualClock } from '../../../src/clock/index.js';

/** Each way across the wire takes this long. */
const LATENCY_MS = 2;

type Fate = 'deliver' | 'twice' | 'lose-request' | 'lose-answer';

interface Try {
  from: string;
  to: string;
  message: RemoteMessage;
}

/** Every node's handler, reached through one wire per node; `fate` decides each try. */
class TestNet {
  readonly handlers = new Map<string, (from: string, message: RemoteMessage) => Promise<RemoteAnswer>>();
  readonly tries: Try[] = [];
  fate: (t: Try, index: number) => Fate = () => 'deliver';

  constructor(private readonly clock: ManualClock) {}

  wire(node: string): ActorWire {
    return {
      request: (to, message, timeoutMs) =>
        new Promise((resolve, reject) => {
          const t = { from: node, to, message };
          const fate = this.fate(t, this.tries.push(t) - 1);
          const cancel = this.clock.setTimer(timeoutMs, () => reject(new Error(`${to} did not answer within ${timeoutMs} ms`)));
          this.clock.setTimer(LATENCY_MS, () => {
            // A node with no handler is down: the try times out.
            const handler = this.handlers.get(to);
            if (!handler || fate === 'lose-request') return;
            const answer = handler(node, message);
            if (fate === 'twice') void handler(node, message);
            void answer.then((a) =>
              this.clock.setTimer(LATENCY_MS, () => {
                if (fate === 'lose-answer') return;
                cancel();
                resolve(a);
              }),
            );
          });
        }),
      handle: (receive) => {
        this.handlers.set(node, receive);
        return () => this.handlers.delete(node);
      },
    };
  }
}

/** A shard map the test moves by hand: every shard owned by one node (or none). */
class MovableMap implements ShardMap {
  constructor(public owner: ShardOwner | undefined) {}
  ownerOf(): ShardOwner | undefined {
    return this.owner;
  }
}

type CounterMsg = { add: number } | { total: true } | { bump: true } | { fail: true };

interface Node {
  system: ActorSystem;
  delivery: RemoteDelivery;
  /** What each counter actor on this node received, by key. */
  received: Map<string, number[]>;
  undelivered: { envelope: Envelope; reason: Error }[];
  forwarded: number;
}

function world() {
  const clock = new ManualClock(1_000);
  const net = new TestNet(clock);

  function node(id: string, map: ShardMap, options: { tellTimeoutMs?: number } = {}): Node {
    const received = new Map<string, number[]>();
    const n = { received, undelivered: [], forwarded: 0 } as unknown as Node;
    n.delivery = new RemoteDelivery({
      wire: net.wire(id),
      nodeId: id,
      incarnation: '1',
      clock,
      system: () => n.system,
      tellTimeoutMs: options.tellTimeoutMs,
      onUndelivered: (envelope, reason) => n.undelivered.push({ envelope, reason }),
      onForwarded: () => n.forwarded++,
    });
    n.system = new ActorSystem({ nodeId: id, clock, shardMap: map, remote: n.delivery });
    n.system.register<CounterMsg>('counter', (ctx) => ({
      receive: (msg) => {
        const list = received.get(ctx.key) ?? [];
        received.set(ctx.key, list);
        if ('add' in msg) return void list.push(msg.add);
        if ('bump' in msg) return list.push(1);
        if ('fail' in msg) throw new Error('the counter refuses');
        return { node: id, sum: list.reduce((a, b) => a + b, 0) };
      },
    }));
    return n;
  }

  /** Move the clock on by `ms`, a millisecond at a time, letting promise callbacks run between. */
  async function elapse(ms: number): Promise<void> {
    for (let i = 0; i < ms; i++) {
      clock.advance(1);
      for (let j = 0; j < 3; j++) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Run the clock until `promise` settles (or `limitMs` passes); what it settled with. */
  async function until<T>(promise: Promise<T>, limitMs = 5_000): Promise<{ value?: T; error?: Error; at: number }> {
    const start = clock.now();
    let outcome: { value?: T; error?: Error } | undefined;
    promise.then(
      (value) => (outcome = { value }),
      (error: Error) => (outcome = { error }),
    );
    while (!outcome && clock.now() - start < limitMs) await elapse(1);
    if (!outcome) throw new Error(`still pending after ${limitMs} ms`);
    return { ...outcome, at: clock.now() - start };
  }

  return { clock, net, node, elapse, until };
}

describe('RemoteDelivery', () => {
  it('a tell reaches the owner on another node in order, and an ask comes back with the answer', async () => {
    const w = world();
    const map = new MovableMap({ node: 'b', epoch: 3 });
    const a = w.node('a', map);
    const b = w.node('b', map);
    for (let i = 1; i <= 5; i++) a.system.ref('counter', 'run-1').tell({ add: i });
    expect((await w.until(a.system.ref('counter', 'run-1').ask({ total: true }, 1_000))).value).toEqual({ node: 'b', sum: 15 });
    expect(b.received.get('run-1')).toEqual([1, 2, 3, 4, 5]);
    expect(a.received.size).toBe(0);
    expect(a.forwarded).toBe(6);
    // The receiver was told who sent it and at which epoch the sender saw the owner.
    expect(w.net.tries[0]!.message).toMatchObject({ from: 'a', kind: 'counter', key: 'run-1', epoch: 3, ask: false, msg: { add: 1 } });
  });

  it('a message the wire delivers twice is applied once', async () => {
    const w = world();
    const map = new MovableMap({ node: 'b', epoch: 1 });
    const a = w.node('a', map);
    const b = w.node('b', map);
    w.net.fate = () => 'twice';
    for (let i = 1; i <= 5; i++) a.system.ref('counter', 'run-2').tell({ add: i });
    await w.elapse(20);
    expect(b.received.get('run-2')).toEqual([1, 2, 3, 4, 5]);
    expect((await w.until(a.system.ref('counter', 'run-2').ask({ bump: true }, 1_000))).value).toBe(6);
    expect(b.received.get('run-2')).toEqual([1, 2, 3, 4, 5, 1]);
  });

  it('an ask whose answer the wire lost is sent again under its id and gets the first answer; the actor sees it once', async () => {
    const w = world();
    const map = new MovableMap({ node: 'b', epoch: 1 });
    const a = w.node('a', map);
    const b = w.node('b', map);
    w.net.fate = (_t, index) => (index === 0 ? 'lose-answer' : 'deliver');
    const r = await w.until(a.system.ref('counter', 'run-3').ask({ bump: true }, 5_000));
    expect(r.value).toBe(1);
    expect(b.received.get('run-3')).toEqual([1]);
    expect(w.net.tries).toHaveLength(2);
    expect(w.net.tries[1]!.message.id).toBe(w.net.tries[0]!.message.id);
    // The first try waited its full attempt (1 s) before the resend.
    expect(r.at).toBeGreaterThanOrEqual(1_000);
  });

  it('a lost request is sent again, and a tell arrives once', async () => {
    const w = world();
    const map = new MovableMap({ node: 'b', epoch: 1 });
    const a = w.node('a', map);
    const b = w.node('b', map);
    w.net.fate = (_t, index) => (index < 2 ? 'lose-request' : 'deliver');
    a.system.ref('counter', 'run-4').tell({ add: 7 });
    await w.elapse(2_500);
    expect(b.received.get('run-4')).toEqual([7]);
    expect(w.net.tries).toHaveLength(3);
    expect(new Set(w.net.tries.map((t) => t.message.id)).size).toBe(1);
    expect(a.undelivered).toEqual([]);
  });

  it('a node that does not own the shard answers moved, and the sender takes its word while its own map lags', async () => {
    const w = world();
    const stale = new MovableMap({ node: 'b', epoch: 1 });
    const current = new MovableMap({ node: 'c', epoch: 2 });
    const a = w.node('a', stale);
    const b = w.node('b', current);
    const c = w.node('c', current);
    a.system.ref('counter', 'run-5').tell({ add: 1 });
    expect((await w.until(a.system.ref('counter', 'run-5').ask({ total: true }, 1_000))).value).toEqual({ node: 'c', sum: 1 });
    expect(b.received.size).toBe(0);
    expect(c.received.get('run-5')).toEqual([1]);
    expect(w.net.tries.map((t) => t.to)).toEqual(['b', 'b', 'c', 'c']);
  });

  it('after a moved answer that names no owner, the sender looks again in its own map', async () => {
    const w = world();
    const aMap = new MovableMap({ node: 'b', epoch: 1 });
    const current = new MovableMap(undefined);
    const a = w.node('a', aMap);
    const b = w.node('b', current);
    const c = w.node('c', new MovableMap({ node: 'c', epoch: 2 }));
    const asked = a.system.ref('counter', 'run-6').ask({ bump: true }, 5_000);
    // b refuses without knowing better; a keeps asking b while its own map names b.
    await w.elapse(100);
    expect(w.net.tries.length).toBeGreaterThan(1);
    expect(w.net.tries.every((t) => t.to === 'b')).toBe(true);
    aMap.owner = { node: 'c', epoch: 2 };
    expect((await w.until(asked)).value).toBe(1);
    expect(c.received.get('run-6')).toEqual([1]);
    expect(b.received.size).toBe(0);
  });

  it("the sender's own map, once it has moved on, comes before the receiver's word", async () => {
    const w = world();
    const aMap = new MovableMap({ node: 'b', epoch: 1 });
    const a = w.node('a', aMap);
    // b believes x owns the shard; a learns of c while its first try is on the wire.
    w.node('b', new MovableMap({ node: 'x', epoch: 2 }));
    const c = w.node('c', new MovableMap({ node: 'c', epoch: 3 }));
    const asked = a.system.ref('counter', 'run-11').ask({ bump: true }, 5_000);
    aMap.owner = { node: 'c', epoch: 3 };
    expect((await w.until(asked)).value).toBe(1);
    expect(c.received.get('run-11')).toEqual([1]);
    expect(w.net.tries.map((t) => t.to)).toEqual(['b', 'c']);
  });

  it('a receiver forgets a message it refused as moved, so a resend is applied once the shard is its own', async () => {
    const w = world();
    const map = new MovableMap({ node: 'b', epoch: 1 });
    const bMap = new MovableMap(undefined);
    const a = w.node('a', map);
    const b = w.node('b', bMap);
    const asked = a.system.ref('counter', 'run-10').ask({ bump: true }, 5_000);
    await w.elapse(100);
    expect(w.net.tries.length).toBeGreaterThan(1);
    bMap.owner = { node: 'b', epoch: 2 };
    expect((await w.until(asked)).value).toBe(1);
    expect(b.received.get('run-10')).toEqual([1]);
    expect(new Set(w.net.tries.map((t) => t.message.id)).size).toBe(1);
  });

  it('a message no owner takes fails at its deadline: an ask rejects, a tell goes to the undelivered hook', async () => {
    const w = world();
    const map = new MovableMap({ node: 'b', epoch: 1 });
    const a = w.node('a', map, { tellTimeoutMs: 800 });
    // b never came up: every try times out.
    a.system.ref('counter', 'run-7').tell({ add: 1 });
    const r = await w.until(a.system.ref('counter', 'run-7').ask({ total: true }, 300));
    expect(r.error).toBeInstanceOf(ActorDeliveryTimeoutError);
    expect(r.error!.message).toMatch(/within 300 ms \(b: b did not answer within 300 ms\)/);
    expect(r.at).toBeGreaterThanOrEqual(300);
    expect(r.at).toBeLessThan(320);
    await w.elapse(600);
    expect(a.undelivered).toHaveLength(1);
    expect(a.undelivered[0]!.reason).toBeInstanceOf(ActorDeliveryTimeoutError);
    expect(a.undelivered[0]!.envelope).toMatchObject({ kind: 'counter', key: 'run-7', msg: { add: 1 } });
  });

  it('an ask the actor fails is answered failed once: final, not tried again', async () => {
    const w = world();
    const map = new MovableMap({ node: 'b', epoch: 1 });
    const a = w.node('a', map);
    w.node('b', map);
    const r = await w.until(a.system.ref('counter', 'run-8').ask({ fail: true }, 5_000));
    expect(r.error?.message).toBe('the counter refuses');
    expect(w.net.tries).toHaveLength(1);
  });

  it('after close the node answers nothing, so senders keep trying until their deadline', async () => {
    const w = world();
    const map = new MovableMap({ node: 'b', epoch: 1 });
    const a = w.node('a', map);
    const b = w.node('b', map);
    b.delivery.close();
    const r = await w.until(a.system.ref('counter', 'run-9').ask({ total: true }, 500));
    expect(r.error).toBeInstanceOf(ActorDeliveryTimeoutError);
    expect(b.received.size).toBe(0);
  });
});
