/**
 * Queues and reconnects over real sockets: a peer that goes away is reported down, what is sent
 * to it meanwhile waits (up to a byte cap, past which `send` says no), and goes out in order once
 * the dialler has brought the link back.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClusterCa } from '../../../src/certificates/index.js';
import { PeerCloseCode } from '../../../src/transport/index.js';
import { allUp, cluster, credentials, helloOf, nextEvent, notesArrived, rawPeer, rawTls, startNode } from './peer-links-fixture.js';

let ca: ClusterCa;
beforeAll(async () => {
  ca = await cluster('alpha');
});

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('peer queues and reconnects', () => {
  it('a peer that goes down is reported; sends wait and arrive in order when the dialler brings it back', async () => {
    const a = await startNode(ca, 'node-a');
    let b = await startNode(ca, 'node-b');
    const port = b.port;
    a.links.addPeer('node-b', b.address);
    await allUp(a.links, ['node-b']);
    for (const seq of range(1, 5)) a.links.send('node-b', a.kinds.note, { seq, text: 'before' });
    await notesArrived(b, 5);

    const down = nextEvent(a.links, 'peerDown');
    await b.links.close();
    expect(await down).toMatchObject({ nodeId: 'node-b', code: PeerCloseCode.goingAway });
    for (const seq of range(6, 40)) expect(a.links.send('node-b', a.kinds.note, { seq, text: 'while down' })).toBe(true);
    expect(a.links.queuedBytes('node-b')).toBeGreaterThan(0);

    // The same node comes back on the same port; a's dialler finds it.
    const up = nextEvent(a.links, 'peerUp');
    b = await startNode(ca, 'node-b', { credentials: b.credentials, listen: { host: '127.0.0.1', port } });
    expect(await up).toMatchObject({ nodeId: 'node-b', direction: 'outbound', address: `127.0.0.1:${port}` });
    expect(await notesArrived(b, 35)).toEqual(range(6, 40).map((n) => `node-a:${n}`));
    expect(a.links.queuedBytes('node-b')).toBe(0);
  });

  it('past the byte cap send answers false, queues nothing, and the frames it did take arrive in order', async () => {
    const a = await startNode(ca, 'node-a', { maxQueuedBytes: 2_000 });
    const text = 'x'.repeat(200);
    // b is not listening yet: everything waits.
    const accepted: number[] = [];
    let refusedAt: number | undefined;
    a.links.addPeer('node-b', '127.0.0.1:1');
    for (const seq of range(1, 50)) {
      if (a.links.send('node-b', a.kinds.note, { seq, text })) accepted.push(seq);
      else {
        refusedAt ??= seq;
        expect(a.links.queuedBytes('node-b')).toBeLessThanOrEqual(2_000);
      }
    }
    expect(refusedAt).toBeDefined();
    expect(accepted).toEqual(range(1, refusedAt! - 1));
    await expect(a.links.request('node-b', a.kinds.echo, { text: 'x' }, { timeoutMs: 1_000 })).rejects.toMatchObject({ name: 'PeerLinkDownError' });

    const b = await startNode(ca, 'node-b');
    a.links.addPeer('node-b', b.address);
    expect(await notesArrived(b, accepted.length)).toEqual(accepted.map((n) => `node-a:${n}`));
    expect(a.links.send('node-b', a.kinds.note, { seq: 1000, text })).toBe(true);
    expect((await notesArrived(b, accepted.length + 1)).at(-1)).toBe('node-a:1000');
  });

  it('drains a burst larger than the socket high-water mark in order', async () => {
    const a = await startNode(ca, 'node-a', { highWaterBytes: 64 * 1024 });
    const b = await startNode(ca, 'node-b');
    a.links.addPeer('node-b', b.address);
    await allUp(a.links, ['node-b']);
    const text = 'y'.repeat(32 * 1024);
    for (const seq of range(1, 300)) expect(a.links.send('node-b', a.kinds.note, { seq, text })).toBe(true);
    // About 10 MB went in at once; the socket was handed only what it could take, the rest waits in the queue.
    expect(a.links.queuedBytes('node-b')).toBeGreaterThan(0);
    expect(await notesArrived(b, 300)).toEqual(range(1, 300).map((n) => `node-a:${n}`));
  });

  it('a peer that falls silent is closed by the heartbeat (4110) and reported down', async () => {
    const a = await startNode(ca, 'node-a', { pingIntervalMs: 20, idleTimeoutMs: 60 });
    const b = await credentials(ca, 'node-b');
    // A peer that completes its hello and then never answers a ping.
    const silent = rawPeer(a.port, rawTls(b));
    await silent.opened;
    const down = nextEvent(a.links, 'peerDown');
    silent.ws.send(helloOf(b));
    expect(await down).toMatchObject({ nodeId: 'node-b', code: PeerCloseCode.heartbeatTimeout });
    expect((await silent.closed).code).toBe(PeerCloseCode.heartbeatTimeout);
    expect(silent.received.filter((f) => (f as { type: string }).type === 'ping').length).toBeGreaterThan(0);
  });
});
