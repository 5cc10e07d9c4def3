/**
 * The fault hook on live links: drop, duplicate, delay, one-way cuts and partitions do what they
 * say, and each is shown by what arrives, in order, after a marker sent once the fault is lifted.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClusterCa } from '../../../src/certificates/index.js';
import { ManualClock, SeededRandom } from '../../../src/clock/index.js';
import { type AppliedFault, type FaultDirection, PeerCloseCode, PeerFaults } from '../../../src/transport/index.js';
import { allUp, cluster, nextEvent, nextLog, notesArrived, startNode, type TestNode } from './peer-links-fixture.js';

let ca: ClusterCa;
beforeAll(async () => {
  ca = await cluster('alpha');
});

async function pair(options: { clock?: ManualClock } = {}): Promise<{ a: TestNode; b: TestNode; faults: PeerFaults }> {
  const faults = new PeerFaults(new SeededRandom(7));
  const a = await startNode(ca, 'node-a', { faults, ...(options.clock ? { clock: options.clock, pingIntervalMs: 0 } : {}) });
  const b = await startNode(ca, 'node-b');
  a.links.addPeer('node-b', b.address);
  b.links.addPeer('node-a', a.address);
  await Promise.all([allUp(a.links, ['node-b']), allUp(b.links, ['node-a'])]);
  return { a, b, faults };
}

/** The next frame the hook judges in `direction`. */
function nextFault(faults: PeerFaults, direction: FaultDirection): Promise<AppliedFault> {
  return new Promise((resolve) => {
    const off = faults.onFault((fault) => {
      if (fault.direction !== direction) return;
      off();
      resolve(fault);
    });
  });
}

function note(from: TestNode, to: string, seq: number): void {
  expect(from.links.send(to, from.kinds.note, { seq, text: '' })).toBe(true);
}

describe('fault hook on live links', () => {
  it('drop: frames a rule drops never arrive; the link stays up', async () => {
    const { a, b, faults } = await pair();
    faults.set('node-b', 'outbound', { dropRate: 1 });
    for (const seq of [1, 2, 3]) note(a, 'node-b', seq);
    faults.heal('node-b');
    note(a, 'node-b', 4);
    expect(await notesArrived(b, 1)).toEqual(['node-a:4']);
    expect(a.links.isUp('node-b')).toBe(true);
  });

  it('duplicate: each frame arrives twice', async () => {
    const { a, b, faults } = await pair();
    faults.set('node-b', 'outbound', { duplicateRate: 1 });
    for (const seq of [1, 2, 3]) note(a, 'node-b', seq);
    faults.heal();
    note(a, 'node-b', 4);
    expect(await notesArrived(b, 7)).toEqual(['node-a:1', 'node-a:1', 'node-a:2', 'node-a:2', 'node-a:3', 'node-a:3', 'node-a:4']);
  });

  it('delay: a frame waits its delay on the injected clock, and later frames may overtake it', async () => {
    const clock = new ManualClock(Date.now());
    const { a, b, faults } = await pair({ clock });
    faults.set('node-b', 'outbound', { delayMs: { min: 100, max: 100 } });
    note(a, 'node-b', 1);
    faults.heal();
    note(a, 'node-b', 2);
    expect(await notesArrived(b, 1)).toEqual(['node-a:2']);
    clock.advance(100);
    expect(await notesArrived(b, 2)).toEqual(['node-a:2', 'node-a:1']);
  });

  it('inbound delay: a frame that reached the hook waits there for its delay', async () => {
    const clock = new ManualClock(Date.now());
    const { a, b, faults } = await pair({ clock });
    faults.set('node-b', 'inbound', { delayMs: { min: 50, max: 50 } });
    const held = nextFault(faults, 'inbound');
    note(b, 'node-a', 1);
    expect((await held).plan).toEqual({ delaysMs: [50] });
    faults.heal();
    note(b, 'node-a', 2);
    expect(await notesArrived(a, 1)).toEqual(['node-b:2']);
    clock.advance(50);
    expect(await notesArrived(a, 2)).toEqual(['node-b:2', 'node-b:1']);
  });

  it('one-way cut: a no longer reaches b while b still reaches a', async () => {
    const { a, b, faults } = await pair();
    faults.cut('node-b', 'outbound');
    note(b, 'node-a', 1);
    expect(await notesArrived(a, 1)).toEqual(['node-b:1']);
    note(a, 'node-b', 1);
    note(a, 'node-b', 2);
    faults.heal('node-b');
    note(a, 'node-b', 3);
    expect(await notesArrived(b, 1)).toEqual(['node-a:3']);

    // The same cut from a's receiving side.
    faults.cut('node-b', 'inbound');
    const dropped = nextFault(faults, 'inbound');
    note(b, 'node-a', 2);
    expect((await dropped).plan).toEqual({ delaysMs: [] });
    note(a, 'node-b', 4);
    expect(await notesArrived(b, 2)).toEqual(['node-a:3', 'node-a:4']);
    faults.heal();
    note(b, 'node-a', 3);
    expect(await notesArrived(a, 2)).toEqual(['node-b:1', 'node-b:3']);
    expect(a.links.isUp('node-b') && b.links.isUp('node-a')).toBe(true);
  });

  it('a partition closes the link on both sides (4109) and keeps it closed until healed', async () => {
    const { a, b, faults } = await pair();
    const downAtA = nextEvent(a.links, 'peerDown');
    const downAtB = nextEvent(b.links, 'peerDown');
    // b keeps dialling a and is turned away, without counting as a failed authentication.
    const turnedAway = nextLog(b.logs, (l) => l.msg === 'peer dial failed' && String(l.fields.why).includes('partitioned by fault injection'));
    faults.cut('node-b', 'both');
    expect(await downAtA).toMatchObject({ nodeId: 'node-b', code: PeerCloseCode.cut });
    expect(await downAtB).toMatchObject({ nodeId: 'node-a', code: PeerCloseCode.cut });
    await turnedAway;
    expect(a.links.isUp('node-b')).toBe(false);
    expect(a.logs.filter((l) => l.msg === 'peer refused')).toEqual([]);
    faults.heal('node-b');
    await Promise.all([allUp(a.links, ['node-b']), allUp(b.links, ['node-a'])]);
  });
});
