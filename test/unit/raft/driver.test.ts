import { describe, it, expect } from 'vitest';
import { ManualClock, SeededRandom } from '../../../src/clock/index.js';
import {
  MemoryStorage,
  ProposalDroppedError,
  ProposalTooLargeError,
  RaftDriver,
  StorageFailedError,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type Snapshot,
  type WritableLogStorage,
} from '../../../src/raft/index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A storage that records each call into a shared event log. */
class RecordingStorage extends MemoryStorage {
  constructor(
    conf: ConfState,
    private readonly events: string[],
  ) {
    super(conf);
  }
  override append(entries: Entry[]): void {
    if (entries.length > 0) this.events.push('append');
    super.append(entries);
  }
  override setHardState(hs: HardState): void {
    this.events.push('hardState');
    super.setHardState(hs);
  }
  override applySnapshot(snap: Snapshot): void {
    this.events.push('snapshot');
    super.applySnapshot(snap);
  }
  override sync(): void {
    this.events.push('sync');
    this.synced = { last: this.lastIndex(), hard: this.hardState() };
  }
  /** What the last sync() made durable. */
  synced = { last: 0, hard: { term: 0, vote: 0, commit: 0 } as HardState };

  /** Why `m` could not have been sent if the node crashed now, or undefined if it is covered. */
  uncovered(m: Message): string | undefined {
    const { last, hard } = this.synced;
    if (m.term > hard.term && m.type !== 'prevote' && m.type !== 'prevote_resp') return `term ${m.term} not durable`;
    if (m.type === 'vote_resp' && !m.reject && hard.vote !== m.to) return 'vote not durable';
    if (m.type === 'append_resp' && !m.reject && (m.index ?? 0) > last) return 'acked entries not durable';
    const e = m.entries ?? [];
    if (e.length > 0 && e[e.length - 1].index > last) return 'sent entries not durable';
    return undefined;
  }
}

interface Member {
  id: NodeId;
  driver: RaftDriver;
  storage: WritableLogStorage;
  applied: string[];
  restored: number;
}

/** Drivers on one ManualClock; messages arrive 1 ms after they are sent unless the link is cut. */
class Cluster {
  readonly clock = new ManualClock();
  readonly members = new Map<NodeId, Member>();
  readonly cut = new Set<NodeId>();
  readonly events: string[] = [];
  readonly violations: string[] = [];

  constructor(ids: NodeId[], opts: { snapshotEvery?: number; record?: NodeId } = {}) {
    const conf = { voters: ids, learners: [] };
    for (const id of ids) {
      const storage = id === opts.record ? new RecordingStorage(conf, this.events) : new MemoryStorage(conf);
      const rnd = new SeededRandom(id);
      const m: Member = { id, storage, applied: [], restored: 0, driver: undefined as unknown as RaftDriver };
      m.driver = new RaftDriver({
        node: { id, electionTick: 10, heartbeatTick: 1, random: () => rnd.next() },
        storage,
        clock: this.clock,
        tickMs: 50,
        send: (msgs) => {
          if (id === opts.record) {
            this.events.push('send');
            for (const msg of msgs) {
              const why = (storage as RecordingStorage).uncovered(msg);
              if (why) this.violations.push(`${msg.type}: ${why}`);
            }
          }
          for (const msg of msgs) this.route(msg);
        },
        apply: (entries) => {
          for (const e of entries) if (e.type === 'normal' && e.data.length > 0) m.applied.push(dec.decode(e.data));
        },
        restore: (snap) => {
          m.restored++;
          m.applied = snap.data.length ? (JSON.parse(dec.decode(snap.data)) as string[]) : [];
        },
        snapshot: opts.snapshotEvery
          ? { every: opts.snapshotEvery, data: () => enc.encode(JSON.stringify(m.applied)) }
          : undefined,
      });
      this.members.set(id, m);
    }
  }

  private route(msg: Message): void {
    if (this.cut.has(msg.from) || this.cut.has(msg.to)) return;
    this.clock.setTimer(1, () => {
      if (this.cut.has(msg.from) || this.cut.has(msg.to)) return;
      this.members.get(msg.to)?.driver.receive(msg);
    });
  }

  leader(): Member | undefined {
    return [...this.members.values()].find((m) => !this.cut.has(m.id) && m.driver.isLeader());
  }

  run(ms: number): void {
    this.clock.advance(ms);
  }

  waitLeader(): Member {
    for (let i = 0; i < 100; i++) {
      const l = this.leader();
      if (l) return l;
      this.run(50);
    }
    throw new Error('no leader');
  }
}

describe('RaftDriver', () => {
  it('persists and fsyncs before sending anything of the same batch', () => {
    const c = new Cluster([1, 2, 3], { record: 1 });
    c.waitLeader();
    c.run(500);
    c.leader()!.driver.propose(enc.encode('x')).catch(() => undefined);
    c.run(500);
    const ev = c.events;
    expect(ev.filter((e) => e === 'send').length).toBeGreaterThan(3);
    expect(ev).toContain('append');
    expect(c.violations).toEqual([]);
    // Within each batch, writes come first, then one sync, then the send.
    const batches = ev.join(' ').split('send').slice(0, -1);
    for (const b of batches) {
      const steps = b.trim().split(' ').filter(Boolean);
      if (steps.length > 0) expect(steps.at(-1)).toBe('sync');
    }
  });

  it('a single node elects itself on its own clock and resolves proposals on apply', async () => {
    const c = new Cluster([1]);
    const m = c.waitLeader();
    const p = m.driver.propose(enc.encode('hello'));
    c.run(1);
    await expect(p).resolves.toEqual({ index: 2, term: 1 });
    expect(m.applied).toEqual(['hello']);
  });

  it('three drivers agree; a proposal resolves once applied on the leader', async () => {
    const c = new Cluster([1, 2, 3]);
    const l = c.waitLeader();
    const results = [l.driver.propose(enc.encode('a')), l.driver.propose(enc.encode('b'))];
    let settled = false;
    void Promise.all(results).then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false); // nothing is committed before followers answer
    c.run(10);
    const [a, b] = await Promise.all(results);
    expect(b.index).toBe(a.index + 1);
    c.run(200);
    for (const m of c.members.values()) expect(m.applied).toEqual(['a', 'b']);
  });

  it('rejects proposals on followers', async () => {
    const c = new Cluster([1, 2, 3]);
    const l = c.waitLeader();
    const f = [...c.members.values()].find((m) => m.id !== l.id)!;
    await expect(f.driver.propose(enc.encode('x'))).rejects.toBeInstanceOf(ProposalDroppedError);
  });

  it('rejects pending proposals when leadership is lost', async () => {
    const c = new Cluster([1, 2, 3]);
    const l = c.waitLeader();
    c.run(200);
    expect(l.driver.leaseValid()).toBe(true);
    c.cut.add(l.id);
    const p = l.driver.propose(enc.encode('lost'));
    c.run(50 * 12);
    await expect(p).rejects.toThrow(/leadership lost/);
    expect(l.driver.isLeader()).toBe(false);
    expect(l.driver.leaseValid()).toBe(false);
  });

  it('compacts every N applied entries and restores a lagging follower from the snapshot', async () => {
    const c = new Cluster([1, 2, 3], { snapshotEvery: 5 });
    const l = c.waitLeader();
    const lagging = [...c.members.values()].find((m) => m.id !== l.id)!;
    c.cut.add(lagging.id);
    const ps: Promise<unknown>[] = [];
    for (let i = 0; i < 12; i++) ps.push(l.driver.propose(enc.encode(`e${i}`)));
    c.run(20);
    await Promise.all(ps);
    expect(l.storage.snapshot().meta.index).toBeGreaterThanOrEqual(10);
    c.cut.delete(lagging.id);
    c.run(500);
    expect(lagging.restored).toBe(1);
    expect(lagging.applied).toEqual(l.applied);
    expect(lagging.applied).toHaveLength(12);
  });

  it('applies membership changes proposed through it', async () => {
    const c = new Cluster([1, 2, 3]);
    const l = c.waitLeader();
    const victim = [...c.members.values()].find((m) => m.id !== l.id)!;
    const p = l.driver.proposeConfChange({ type: 'remove', node: victim.id });
    c.run(10);
    await p;
    expect(l.driver.status().conf.voters).not.toContain(victim.id);
  });

  it('answers a read index once confirmed and applied', async () => {
    const c = new Cluster([1, 2, 3]);
    const l = c.waitLeader();
    c.run(100);
    const r = l.driver.readIndex();
    c.run(10);
    await expect(r).resolves.toBe(l.driver.status().commit);
  });

  it('transfers leadership', () => {
    const c = new Cluster([1, 2, 3]);
    const l = c.waitLeader();
    c.run(100);
    const target = [...c.members.values()].find((m) => m.id !== l.id)!;
    l.driver.transferLeadership(target.id);
    c.run(20);
    expect(target.driver.isLeader()).toBe(true);
    expect(l.driver.isLeader()).toBe(false);
  });

  it('stop() rejects what is pending and stops ticking', async () => {
    const c = new Cluster([1, 2, 3]);
    const l = c.waitLeader();
    c.cut.add(l.id);
    const p = l.driver.propose(enc.encode('x'));
    l.driver.stop();
    await expect(p).rejects.toThrow(/stopped/);
    const term = l.driver.status().term;
    c.cut.delete(l.id);
    c.run(5000);
    expect(l.driver.status().term).toBe(term);
    await expect(l.driver.propose(enc.encode('y'))).rejects.toThrow(/stopped/);
  });

  it('stops for good and reports when its storage fails, sending nothing of the failed batch', async () => {
    const clock = new ManualClock();
    const sent: Message[] = [];
    const failures: Error[] = [];
    let failSync = false;
    class FailingStorage extends MemoryStorage {
      override sync(): void {
        if (failSync) throw new StorageFailedError('fsync failed: EIO');
      }
    }
    const rnd = new SeededRandom(1);
    const d = new RaftDriver({
      node: { id: 1, electionTick: 10, heartbeatTick: 1, random: () => rnd.next() },
      storage: new FailingStorage({ voters: [1], learners: [] }),
      clock,
      tickMs: 50,
      send: (msgs) => sent.push(...msgs),
      apply: () => {},
      onFatal: (e) => failures.push(e),
    });
    d.campaign();
    expect(d.isLeader()).toBe(true);
    failSync = true;
    const p = d.propose(enc.encode('x'));
    await expect(p).rejects.toThrow(ProposalDroppedError);
    expect(failures.map((e) => e.message)).toEqual(['fsync failed: EIO']);
    expect(d.failure()).toBe(failures[0]);
    expect(d.leaseValid()).toBe(false);
    await expect(d.propose(enc.encode('y'))).rejects.toThrow(/stopped/);
    clock.advance(5000);
    expect(failures).toHaveLength(1);
    expect(sent).toEqual([]);
  });

  it('throws the storage failure to its caller when nobody listens for it', () => {
    const rnd = new SeededRandom(1);
    class BrokenStorage extends MemoryStorage {
      override sync(): void {
        throw new StorageFailedError('disk gone');
      }
    }
    const d = new RaftDriver({
      node: { id: 1, electionTick: 10, heartbeatTick: 1, random: () => rnd.next() },
      storage: new BrokenStorage({ voters: [1], learners: [] }),
      clock: new ManualClock(),
      tickMs: 50,
      send: () => {},
      apply: () => {},
    });
    expect(() => d.campaign()).toThrow(/disk gone/);
    expect(d.failure()?.message).toBe('disk gone');
  });

  it('refuses a proposal over the size limit before it reaches the log', async () => {
    const c = new Cluster([1]);
    const l = c.waitLeader();
    const before = l.driver.status().lastIndex;
    await expect(l.driver.propose(new Uint8Array(1024 * 1024 + 1))).rejects.toThrow(ProposalTooLargeError);
    expect(l.driver.status().lastIndex).toBe(before);
  });
});
