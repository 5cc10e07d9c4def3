import { describe, it, expect } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import {
  ActorSystem,
  ActorStoppedError,
  AskTimeoutError,
  type ActorContext,
  type ActorFailure,
} from '../../../src/actors/index.js';

/** Let pending promise callbacks run (handlers are async). */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

function newSystem(extra: Partial<ConstructorParameters<typeof ActorSystem>[0]> = {}) {
  const clock = new ManualClock(1_000);
  const failures: ActorFailure[] = [];
  const system = new ActorSystem({
    nodeId: 'n1',
    clock,
    idleTimeoutMs: 5_000,
    onError: (f) => failures.push(f),
    ...extra,
  });
  return { clock, system, failures };
}

describe('ActorSystem mailbox', () => {
  it('keeps the order of concurrent tells, even with async handlers of varying length', async () => {
    const { system } = newSystem();
    const seen: string[] = [];
    system.register<string>('echo', () => ({
      async receive(msg) {
        // Uneven awaits would reorder messages if two handlers ever overlapped.
        for (let i = 0; i < (msg.length % 3) + 1; i++) await Promise.resolve();
        seen.push(msg);
      },
    }));
    const sent: string[] = [];
    const a = system.ref<string>('echo', 'k');
    const b = system.ref<string>('echo', 'k');
    for (let i = 0; i < 50; i++) {
      const ref = i % 2 === 0 ? a : b;
      const msg = `m${i}${'x'.repeat(i % 4)}`;
      sent.push(msg);
      ref.tell(msg);
    }
    await settle();
    expect(seen).toEqual(sent);
  });

  it('processes one message at a time per actor', async () => {
    const { system } = newSystem();
    let inFlight = 0;
    let maxInFlight = 0;
    system.register<number>('slow', () => ({
      async receive() {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
      },
    }));
    const replies = Array.from({ length: 10 }, (_, i) => system.ref<number>('slow', 'one').ask(i, 60_000));
    await Promise.all(replies);
    expect(maxInFlight).toBe(1);
  });

  it('answers ask with the handler result and times out when no answer comes', async () => {
    const { system, clock } = newSystem();
    system.register<{ op: 'double' | 'hang'; n: number }>('calc', () => ({
      receive(msg) {
        if (msg.op === 'hang') return new Promise(() => undefined);
        return msg.n * 2;
      },
    }));
    await expect(system.ref('calc', 'a').ask({ op: 'double', n: 21 }, 1_000)).resolves.toBe(42);
    const hanging = system.ref('calc', 'b').ask({ op: 'hang', n: 0 }, 1_000);
    clock.advance(999);
    await settle(2);
    let done = false;
    void hanging.catch(() => (done = true));
    await settle(2);
    expect(done).toBe(false);
    clock.advance(1);
    await expect(hanging).rejects.toBeInstanceOf(AskTimeoutError);
  });

  it('delivers scheduled messages to itself through the mailbox', async () => {
    const { system, clock } = newSystem();
    const got: string[] = [];
    system.register<string>('timer', (ctx) => ({
      receive(msg) {
        got.push(msg);
        if (msg === 'arm') ctx.schedule(3_000, 'ring');
      },
    }));
    system.ref<string>('timer', 't').tell('arm');
    await settle();
    clock.advance(2_999);
    await settle();
    expect(got).toEqual(['arm']);
    clock.advance(1);
    await settle();
    expect(got).toEqual(['arm', 'ring']);
  });
});

describe('virtual actors: activation and passivation', () => {
  function counterKind(system: ActorSystem, store: Map<string, number>, log: string[]) {
    system.register<'inc' | 'get'>('counter', (ctx: ActorContext<'inc' | 'get'>) => {
      let value = 0;
      return {
        async onActivate() {
          await Promise.resolve();
          value = store.get(ctx.key) ?? 0;
          log.push(`activate:${value}`);
        },
        receive(msg) {
          if (msg === 'inc') store.set(ctx.key, ++value);
          return value;
        },
        onPassivate() {
          log.push('passivate');
        },
      };
    });
  }

  it('activates on the first message, passivates after idle, and reactivates from the store', async () => {
    const { system, clock } = newSystem();
    const store = new Map<string, number>();
    const log: string[] = [];
    counterKind(system, store, log);
    const ref = system.ref<'inc' | 'get'>('counter', 'c1');
    expect(system.isActive('counter', 'c1')).toBe(false);
    await ref.ask('inc', 1_000);
    await ref.ask('inc', 1_000);
    expect(system.isActive('counter', 'c1')).toBe(true);
    await settle();
    clock.advance(4_999);
    await settle();
    expect(system.isActive('counter', 'c1')).toBe(true);
    clock.advance(1);
    await settle();
    expect(system.isActive('counter', 'c1')).toBe(false);
    expect(log).toEqual(['activate:0', 'passivate']);
    await expect(ref.ask('get', 1_000)).resolves.toBe(2);
    expect(log).toEqual(['activate:0', 'passivate', 'activate:2']);
  });

  it('restarts the idle countdown on every message', async () => {
    const { system, clock } = newSystem();
    const log: string[] = [];
    counterKind(system, new Map(), log);
    const ref = system.ref<'inc' | 'get'>('counter', 'c2');
    await ref.ask('inc', 1_000);
    await settle();
    clock.advance(4_000);
    await ref.ask('inc', 1_000);
    await settle();
    clock.advance(4_000);
    await settle();
    expect(system.isActive('counter', 'c2')).toBe(true);
    clock.advance(1_000);
    await settle();
    expect(system.isActive('counter', 'c2')).toBe(false);
  });

  it('stays active while it asks to, or while a scheduled message is pending', async () => {
    const { system, clock } = newSystem();
    let busy = true;
    system.register<string>('busy', (ctx) => ({
      receive(msg) {
        if (msg === 'schedule') ctx.schedule(20_000, 'later');
      },
      canPassivate: () => !busy,
    }));
    await system.ref<string>('busy', 'b').ask('hello', 1_000);
    await settle();
    clock.advance(6_000);
    await settle();
    expect(system.isActive('busy', 'b')).toBe(true);
    busy = false;
    await system.ref<string>('busy', 'b').ask('schedule', 1_000);
    await settle();
    clock.advance(6_000);
    await settle();
    expect(system.isActive('busy', 'b')).toBe(true);
    clock.advance(20_000);
    await settle();
    expect(system.isActive('busy', 'b')).toBe(true);
    clock.advance(5_000);
    await settle();
    expect(system.isActive('busy', 'b')).toBe(false);
  });

  it('passivates every actor at shutdown and refuses later messages', async () => {
    const { system } = newSystem();
    const log: string[] = [];
    counterKind(system, new Map(), log);
    await system.ref<'inc' | 'get'>('counter', 'x').ask('inc', 1_000);
    await system.shutdown();
    expect(log).toEqual(['activate:0', 'passivate']);
    await expect(system.ref<'inc' | 'get'>('counter', 'x').ask('get', 1_000)).rejects.toThrow(/shut down/);
  });
});

describe('supervision', () => {
  function flakyKind(system: ActorSystem, activations: { count: number }) {
    system.register<string>('flaky', () => {
      activations.count++;
      const state: string[] = [];
      return {
        receive(msg) {
          if (msg === 'boom') throw new Error('handler exploded');
          state.push(msg);
          return state.length;
        },
      };
    });
  }

  it('reports a failure, rejects that ask, and restarts the actor after a backoff', async () => {
    const { system, clock, failures } = newSystem();
    const activations = { count: 0 };
    flakyKind(system, activations);
    const ref = system.ref<string>('flaky', 'f');
    await expect(ref.ask('a', 1_000)).resolves.toBe(1);
    await expect(ref.ask('boom', 1_000)).rejects.toThrow('handler exploded');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ kind: 'flaky', key: 'f', restarts: 1, stopped: false, phase: 'receive' });
    expect(system.isActive('flaky', 'f')).toBe(false);
    const next = ref.ask('b', 10_000);
    await settle();
    // Backoff: the restart waits 100 ms of (manual) time before reactivating.
    expect(activations.count).toBe(1);
    clock.advance(100);
    // In-memory state was dropped: the fresh instance counts from zero.
    await expect(next).resolves.toBe(1);
    expect(activations.count).toBe(2);
  });

  it('stops a poison actor after too many restarts inside the window', async () => {
    const { system, clock, failures } = newSystem({ supervision: { maxRestarts: 2, backoffBaseMs: 10, windowMs: 60_000 } });
    flakyKind(system, { count: 0 });
    const ref = system.ref<string>('flaky', 'p');
    for (let i = 0; i < 3; i++) {
      const reply = ref.ask('boom', 100_000);
      clock.advance(1_000);
      await expect(reply).rejects.toThrow('handler exploded');
    }
    expect(failures.map((f) => f.stopped)).toEqual([false, false, true]);
    expect(system.isStopped('flaky', 'p')).toBe(true);
    await expect(ref.ask('fine', 1_000)).rejects.toBeInstanceOf(ActorStoppedError);
    system.revive('flaky', 'p');
    await expect(ref.ask('fine', 1_000)).resolves.toBe(1);
  });

  it('treats a throwing onActivate as a failure of the message that woke it', async () => {
    const { system, clock, failures } = newSystem();
    let attempts = 0;
    system.register<string>('loader', () => ({
      onActivate() {
        attempts++;
        if (attempts === 1) throw new Error('store unavailable');
      },
      receive: () => 'ok',
    }));
    const ref = system.ref<string>('loader', 'l');
    await expect(ref.ask('x', 1_000)).rejects.toThrow('store unavailable');
    expect(failures[0]?.phase).toBe('activate');
    const second = ref.ask('y', 10_000);
    clock.advance(100);
    await expect(second).resolves.toBe('ok');
  });

  it('wakes a failed actor of a kind that asks for it, once the backoff has passed', async () => {
    const { system, clock } = newSystem();
    const seen: string[] = [];
    system.register<string>(
      'waker',
      () => ({
        receive(msg) {
          seen.push(msg);
          if (msg === 'boom') throw new Error('crash');
        },
      }),
      { wakeAfterFailure: 'wake-up' },
    );
    await expect(system.ref<string>('waker', 'w').ask('boom', 1_000)).rejects.toThrow('crash');
    clock.advance(99);
    await settle();
    expect(seen).toEqual(['boom']);
    clock.advance(1);
    await settle();
    expect(seen).toEqual(['boom', 'wake-up']);
    expect(system.isActive('waker', 'w')).toBe(true);
  });

  it('forgets restarts that fall outside the window', async () => {
    const { system, clock, failures } = newSystem({ supervision: { maxRestarts: 1, backoffBaseMs: 1, windowMs: 1_000 } });
    flakyKind(system, { count: 0 });
    const ref = system.ref<string>('flaky', 'w');
    for (let i = 0; i < 3; i++) {
      const reply = ref.ask('boom', 100_000);
      clock.advance(5);
      await expect(reply).rejects.toThrow('handler exploded');
      clock.advance(2_000);
    }
    expect(failures.every((f) => f.restarts === 1 && !f.stopped)).toBe(true);
    expect(system.isStopped('flaky', 'w')).toBe(false);
  });
});
