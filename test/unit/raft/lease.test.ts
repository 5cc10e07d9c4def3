import { describe, it, expect } from 'vitest';
import { Network } from './network.js';
import { ManualClock, SeededRandom } from '../../../src/clock/index.js';
import { MemoryStorage, RaftDriver, type Message, type NodeId } from '../../../src/raft/index.js';
import { leaseTicksFor } from '../../../src/raft/raft.js';

const E = 10;

/** Tick one node and let the network settle. */
function tickOne(n: Network, id: NodeId, times = 1): void {
  for (let i = 0; i < times; i++) {
    n.node(id).tick();
    n.stabilize();
  }
}

describe('the lease is never believed while another node leads a later term', () => {
  it('keeps a margin for tick phase and clock drift', () => {
    expect(leaseTicksFor(10, 0.1)).toBe(8);
    expect(leaseTicksFor(10, 0)).toBe(9);
    expect(() => leaseTicksFor(2, 0.5)).toThrow(/too small/);
    expect(() => leaseTicksFor(10, 1)).toThrow(/maxClockDrift/);
  });

  it('a follower whose ticks run just ahead of the leader can elect someone before the lease ends', () => {
    const n = new Network([1, 2, 3], { electionTick: E });
    n.node(1).campaign();
    n.stabilize();
    // One heartbeat round, answered by both: the lease runs from this send.
    tickOne(n, 1);
    expect(n.node(1).hasQuorumLease()).toBe(true);
    n.isolate(1);
    // The followers' ticks fall just after the heartbeat arrived, the leader's just before the
    // next boundary: after E follower ticks the leader has ticked only E - 1 times.
    for (let i = 0; i < E; i++) {
      n.node(2).tick();
      n.node(3).tick();
      n.stabilize();
    }
    tickOne(n, 1, E - 1);
    n.node(2).campaign();
    n.stabilize();
    const newLeader = [2, 3].find((id) => n.node(id).status().role === 'leader');
    expect(newLeader).toBeDefined();
    expect(n.node(newLeader!).status().term).toBeGreaterThan(n.node(1).status().term);
    expect(n.node(1).status().role).toBe('leader');
    expect(n.node(1).hasQuorumLease()).toBe(false);
  });

  it('a new leader holds no lease until an entry of its own term has committed', () => {
    const n = new Network([1, 2, 3], { electionTick: E });
    n.node(1).campaign();
    n.stabilize();
    // Node 2 wins, but its first entry (the one that would commit its term) never gets through.
    n.drop = (m) => m.from === 2 && m.type === 'append';
    n.node(1).transferLeadership(2);
    n.stabilize();
    expect(n.node(2).status().role).toBe('leader');
    tickOne(n, 2, 2);
    expect(n.delivered.filter((m) => m.type === 'heartbeat_resp' && m.to === 2).length).toBeGreaterThan(1);
    expect(n.node(2).hasQuorumLease()).toBe(false);
    n.drop = undefined;
    tickOne(n, 2);
    expect(n.node(2).hasQuorumLease()).toBe(true);
  });

  it('a leader gives up its lease when a transfer starts, for the rest of its term', () => {
    const n = new Network([1, 2, 3], { electionTick: E });
    n.node(1).campaign();
    n.stabilize();
    tickOne(n, 1);
    expect(n.node(1).hasQuorumLease()).toBe(true);
    // The timeout_now is held back; the transfer times out and the leader carries on.
    const held: Message[] = [];
    n.drop = (m) => {
      if (m.type !== 'timeout_now') return false;
      held.push(m);
      return true;
    };
    n.node(1).transferLeadership(2);
    expect(n.node(1).hasQuorumLease()).toBe(false);
    n.stabilize();
    tickOne(n, 1, E + 2);
    expect(held.length).toBeGreaterThan(0);
    expect(n.node(1).status()).toMatchObject({ role: 'leader' });
    expect(n.node(1).hasQuorumLease()).toBe(false);
    // The late timeout_now still wins node 2 the leadership, against every follower's promise.
    n.drop = undefined;
    n.node(2).step(held[0]);
    n.stabilize();
    expect(n.node(2).status().role).toBe('leader');
  });

  it('a lost timeout_now is sent again, so the transfer completes', () => {
    const n = new Network([1, 2, 3], { electionTick: E });
    n.node(1).campaign();
    n.stabilize();
    let dropped = 0;
    n.drop = (m) => m.type === 'timeout_now' && dropped++ === 0;
    n.node(1).transferLeadership(2);
    n.stabilize();
    expect(n.node(2).status().role).toBe('follower');
    tickOne(n, 1, 2);
    expect(dropped).toBeGreaterThan(1);
    expect(n.node(2).status().role).toBe('leader');
  });
});

/** A clock whose timers fire `lagMs` late, as on a busy event loop. */
function laggingClock(clock: ManualClock, lagMs: number) {
  return { now: () => clock.now(), setTimer: (ms: number, fn: () => void) => clock.setTimer(ms + lagMs, fn) };
}

describe('the driver counts ticks from elapsed time', () => {
  it('a lagging event loop does not stretch the lease', () => {
    const clock = new ManualClock();
    const drivers = new Map<NodeId, RaftDriver>();
    let isolated = false;
    const conf = { voters: [1, 2, 3], learners: [] };
    for (const id of [1, 2, 3]) {
      const rnd = new SeededRandom(id);
      drivers.set(
        id,
        new RaftDriver({
          node: { id, electionTick: E, heartbeatTick: 1, random: () => rnd.next() },
          storage: new MemoryStorage(conf),
          // The leader's loop is 50 ms late for every 50 ms tick.
          clock: id === 1 ? laggingClock(clock, 50) : clock,
          tickMs: 50,
          send: (msgs) => {
            for (const m of msgs) {
              if (isolated && (m.from === 1 || m.to === 1)) continue;
              clock.setTimer(1, () => drivers.get(m.to)?.receive(m));
            }
          },
          apply: () => {},
        }),
      );
    }
    const leader = drivers.get(1)!;
    leader.campaign();
    clock.advance(400);
    expect(leader.isLeader()).toBe(true);
    expect(leader.leaseValid()).toBe(true);
    isolated = true;
    const cutAt = clock.now();
    let lapsedAt = -1;
    for (let t = 0; t < 2000 && lapsedAt < 0; t += 5) {
      clock.advance(5);
      if (!leader.leaseValid()) lapsedAt = clock.now();
    }
    // Followers may elect another leader (E - 1) ticks after the last heartbeat they answered.
    expect(lapsedAt).toBeGreaterThan(0);
    expect(lapsedAt - cutAt).toBeLessThanOrEqual((E - 1) * 50);
  });

  it('time that passed inside a batch counts against the lease', () => {
    const clock = new ManualClock();
    let skew = 0;
    const drifting = { now: () => clock.now() + skew, setTimer: (ms: number, fn: () => void) => clock.setTimer(ms, fn) };
    const seen: boolean[] = [];
    const drivers = new Map<NodeId, RaftDriver>();
    for (const id of [1, 2, 3]) {
      const rnd = new SeededRandom(id);
      const driver: RaftDriver = new RaftDriver({
        node: { id, electionTick: E, heartbeatTick: 1, random: () => rnd.next() },
        storage: new MemoryStorage({ voters: [1, 2, 3], learners: [] }),
        clock: id === 1 ? drifting : clock,
        tickMs: 50,
        send: (msgs) => {
          // Asked while the leader is busy with a batch: the one sending our proposal out.
          if (id === 1 && msgs.some((m) => (m.entries ?? []).some((e) => e.data.length > 0))) {
            seen.push(driver.leaseValid());
            skew += 1000; // a second passes inside the batch before the lease is asked again
            seen.push(driver.leaseValid());
          }
          for (const m of msgs) clock.setTimer(1, () => drivers.get(m.to)?.receive(m));
        },
        apply: () => {},
      });
      drivers.set(id, driver);
    }
    drivers.get(1)!.campaign();
    clock.advance(400);
    drivers.get(1)!.propose(new Uint8Array([1])).catch(() => {}); // the skew costs the leadership
    clock.advance(10);
    expect(seen).toEqual([true, false]);
  });
});
