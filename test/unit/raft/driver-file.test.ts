import { describe, it, expect, beforeEach } from 'vitest';
import { ManualClock, SeededRandom } from '../../../src/clock/index.js';
import { FileStorage, RaftDriver, type Snapshot } from '../../../src/raft/index.js';
import { tempDirEach } from './temp-dir.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One node on disk: a driver over FileStorage whose state machine is a list of strings. */
function boot(dir: string, clock: ManualClock, every?: number) {
  const storage = new FileStorage(dir, { conf: { voters: [1], learners: [] } });
  const state = { applied: [] as string[], restored: [] as Snapshot[] };
  const rnd = new SeededRandom(3);
  const driver = new RaftDriver({
    node: { id: 1, electionTick: 10, heartbeatTick: 1, random: () => rnd.next() },
    storage,
    clock,
    tickMs: 50,
    send: () => undefined,
    apply: (entries) => {
      for (const e of entries) if (e.type === 'normal' && e.data.length) state.applied.push(dec.decode(e.data));
    },
    restore: (snap) => {
      state.restored.push(snap);
      state.applied = JSON.parse(dec.decode(snap.data)) as string[];
    },
    snapshot: every ? { every, data: () => enc.encode(JSON.stringify(state.applied)) } : undefined,
  });
  return { storage, driver, state };
}

describe('RaftDriver over FileStorage', () => {
  const tempDir = tempDirEach('kici-raft-drv-');
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });

  it('comes back after a restart with its term and its applied log', async () => {
    const clock = new ManualClock();
    const a = boot(dir, clock);
    clock.advance(1500);
    expect(a.driver.isLeader()).toBe(true);
    const ps = ['one', 'two', 'three'].map((t) => a.driver.propose(enc.encode(t)));
    clock.advance(1);
    await Promise.all(ps);
    const term = a.driver.status().term;
    a.driver.stop();
    a.storage.close();

    const b = boot(dir, clock);
    expect(b.driver.status().term).toBe(term);
    clock.advance(1500);
    expect(b.driver.isLeader()).toBe(true);
    expect(b.driver.status().term).toBeGreaterThan(term);
    expect(b.state.applied).toEqual(['one', 'two', 'three']);
    b.driver.stop();
    b.storage.close();
  });

  it('restores the application from the snapshot on start, then replays the rest', async () => {
    const clock = new ManualClock();
    const a = boot(dir, clock, 4);
    clock.advance(1500);
    for (let i = 0; i < 10; i++) {
      const p = a.driver.propose(enc.encode(`e${i}`));
      clock.advance(1);
      await p;
    }
    const snapIndex = a.storage.snapshot().meta.index;
    expect(snapIndex).toBeGreaterThan(4);
    a.driver.stop();
    a.storage.close();

    const b = boot(dir, clock, 4);
    expect(b.state.restored).toHaveLength(1);
    expect(b.state.restored[0].meta.index).toBe(snapIndex);
    clock.advance(1500);
    expect(b.state.applied).toEqual(Array.from({ length: 10 }, (_, i) => `e${i}`));
    b.driver.stop();
    b.storage.close();
  });
});
