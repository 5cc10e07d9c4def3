/**
 * Peer links over real TLS on loopback: nodes find each other, keep one link per pair, and carry
 * ordered messages and requests with deadlines.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClusterCa } from '../../../src/certificates/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { PeerLinkDownError, PeerRequestFailedError, PeerRequestTimeoutError } from '../../../src/transport/index.js';
import { allUp, cluster, nextEvent, notesArrived, startNode, type TestNode } from './peer-links-fixture.js';

let ca: ClusterCa;
beforeAll(async () => {
  ca = await cluster('alpha');
});

function sendNotes(from: TestNode, to: TestNode, seqs: number[]): void {
  for (const seq of seqs) expect(from.links.send(to.id, from.kinds.note, { seq, text: `note ${seq}` })).toBe(true);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('peer links', () => {
  it('two nodes that dial each other settle on one link, and neither sees it go down', async () => {
    const a = await startNode(ca, 'node-a');
    const b = await startNode(ca, 'node-b');
    const ups = { a: 0, b: 0 };
    a.links.on('peerUp', () => ups.a++);
    b.links.on('peerUp', () => ups.b++);
    a.links.addPeer('node-b', b.address);
    b.links.addPeer('node-a', a.address);
    await Promise.all([allUp(a.links, ['node-b']), allUp(b.links, ['node-a'])]);
    const downs: string[] = [];
    a.links.on('peerDown', (e) => downs.push(`a:${e.nodeId}`));
    b.links.on('peerDown', (e) => downs.push(`b:${e.nodeId}`));
    // Both sides agree on which dial is the link.
    const side = a.links.linkOf('node-b')!.direction;
    expect(b.links.linkOf('node-a')!.direction).toBe(side === 'outbound' ? 'inbound' : 'outbound');
    sendNotes(a, b, range(1, 20));
    expect(await notesArrived(b, 20)).toEqual(range(1, 20).map((n) => `node-a:${n}`));
    expect(ups).toEqual({ a: 1, b: 1 });
    expect(downs).toEqual([]);
    expect(a.links.connectedPeers().map((p) => [p.nodeId, p.role])).toEqual([['node-b', 'coordinator']]);
  });

  it('carries messages in order both ways, and requests with answers', async () => {
    const a = await startNode(ca, 'node-a');
    const b = await startNode(ca, 'node-b', { role: 'worker' });
    a.links.addPeer('node-b', b.address);
    await Promise.all([allUp(a.links, ['node-b']), allUp(b.links, ['node-a'])]);
    sendNotes(a, b, range(1, 200));
    sendNotes(b, a, range(1, 50));
    expect(await notesArrived(b, 200)).toEqual(range(1, 200).map((n) => `node-a:${n}`));
    expect(await notesArrived(a, 50)).toEqual(range(1, 50).map((n) => `node-b:${n}`));
    await expect(a.links.request('node-b', a.kinds.echo, { text: 'hi' }, { timeoutMs: 5_000 })).resolves.toEqual({ text: 'hi', by: 'node-b for node-a' });
    // b knows a only from a's dial, and can ask it back over the same link.
    await expect(b.links.request('node-a', b.kinds.echo, { text: 'yo' }, { timeoutMs: 5_000 })).resolves.toEqual({ text: 'yo', by: 'node-a for node-b' });
    expect(b.links.connectedPeers()[0]).toMatchObject({ nodeId: 'node-a', role: 'coordinator', clusterId: 'alpha' });
  });

  it('three nodes form a full mesh and each hears the others in order', async () => {
    const nodes = await Promise.all(['node-a', 'node-b', 'node-c'].map((id) => startNode(ca, id)));
    for (const n of nodes) for (const m of nodes) if (n !== m) n.links.addPeer(m.id, m.address);
    await Promise.all(nodes.map((n) => allUp(n.links, nodes.filter((m) => m !== n).map((m) => m.id))));
    for (const n of nodes) for (const m of nodes) if (n !== m) sendNotes(n, m, range(1, 30));
    for (const n of nodes) {
      const notes = await notesArrived(n, 60);
      for (const m of nodes.filter((x) => x !== n)) expect(notes.filter((s) => s.startsWith(`${m.id}:`))).toEqual(range(1, 30).map((k) => `${m.id}:${k}`));
    }
    const answers = await Promise.all(nodes.flatMap((n) => nodes.filter((m) => m !== n).map((m) => n.links.request(m.id, n.kinds.echo, { text: n.id }, { timeoutMs: 5_000 }))));
    expect(answers).toHaveLength(6);
    for (const n of nodes) {
      for (const m of nodes.filter((x) => x !== n)) {
        const side = n.links.linkOf(m.id)!.direction;
        expect(m.links.linkOf(n.id)!.direction).toBe(side === 'outbound' ? 'inbound' : 'outbound');
      }
    }
  });

  it('a request past its deadline fails with a typed error, and its late answer is dropped', async () => {
    const clock = new ManualClock(Date.now());
    const a = await startNode(ca, 'node-a', { clock, pingIntervalMs: 0 });
    const b = await startNode(ca, 'node-b');
    const slow = b.kinds.registry.request('slow', b.kinds.echo.request, b.kinds.echo.response);
    const slowAtA = a.kinds.registry.request('slow', a.kinds.echo.request, a.kinds.echo.response);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let asked!: () => void;
    const arrived = new Promise<void>((resolve) => (asked = resolve));
    b.links.handle(slow, async (_from, body) => {
      asked();
      await held;
      return { text: body.text, by: 'node-b' };
    });
    a.links.addPeer('node-b', b.address);
    await allUp(a.links, ['node-b']);
    const answer = a.links.request('node-b', slowAtA, { text: 'late' }, { timeoutMs: 1_000 });
    await arrived;
    clock.advance(1_000);
    const error = await answer.catch((e: Error) => e);
    expect(error).toBeInstanceOf(PeerRequestTimeoutError);
    expect(error).toMatchObject({ peerId: 'node-b', kind: 'slow', timeoutMs: 1_000 });
    const dropped = nextEvent(a.links, 'responseDropped');
    release();
    expect(await dropped).toMatchObject({ nodeId: 'node-b', kind: 'slow', why: 'late' });
    // The link is fine: the next request is answered.
    await expect(a.links.request('node-b', a.kinds.echo, { text: 'again' }, { timeoutMs: 1_000 })).resolves.toMatchObject({ text: 'again' });
  });

  it('a link that drops fails its waiting requests at once', async () => {
    const a = await startNode(ca, 'node-a');
    const b = await startNode(ca, 'node-b');
    const never = b.kinds.registry.request('never', b.kinds.echo.request, b.kinds.echo.response);
    const neverAtA = a.kinds.registry.request('never', a.kinds.echo.request, a.kinds.echo.response);
    let asked!: () => void;
    const arrived = new Promise<void>((resolve) => (asked = resolve));
    b.links.handle(never, () => {
      asked();
      return new Promise(() => undefined);
    });
    a.links.addPeer('node-b', b.address);
    await allUp(a.links, ['node-b']);
    const answer = a.links.request('node-b', neverAtA, { text: 'x' }, { timeoutMs: 60_000 });
    await arrived;
    await b.links.close();
    const error = await answer.catch((e: Error) => e);
    expect(error).toBeInstanceOf(PeerLinkDownError);
    expect((error as PeerLinkDownError).peerId).toBe('node-b');
    // While down, a request fails at once rather than waiting for a link that may not come.
    await expect(a.links.request('node-b', a.kinds.echo, { text: 'x' }, { timeoutMs: 60_000 })).rejects.toBeInstanceOf(PeerLinkDownError);
  });

  it('a handler that throws answers with an error the requester can read', async () => {
    const a = await startNode(ca, 'node-a');
    const b = await startNode(ca, 'node-b');
    const refuse = b.kinds.registry.request('refuse', b.kinds.echo.request, b.kinds.echo.response);
    const refuseAtA = a.kinds.registry.request('refuse', a.kinds.echo.request, a.kinds.echo.response);
    const unhandledAtA = a.kinds.registry.request('unhandled', a.kinds.echo.request, a.kinds.echo.response);
    b.kinds.registry.request('unhandled', b.kinds.echo.request, b.kinds.echo.response);
    b.links.handle(refuse, () => {
      throw new PeerRequestFailedError('not_leader', 'node-b is not the leader');
    });
    a.links.addPeer('node-b', b.address);
    await allUp(a.links, ['node-b']);
    await expect(a.links.request('node-b', refuseAtA, { text: 'x' }, { timeoutMs: 5_000 })).rejects.toMatchObject({ name: 'PeerRequestFailedError', code: 'not_leader' });
    await expect(a.links.request('node-b', unhandledAtA, { text: 'x' }, { timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'no_handler' });
  });
});
