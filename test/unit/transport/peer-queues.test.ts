/**
 * A peer's send queue (order, byte cap, frames no longer wanted) and the table of requests
 * waiting for answers (deadlines on a manual clock, late and unknown answers, failing a link).
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { PeerLinkDownError, PeerRequestFailedError, PeerRequestTimeoutError } from '../../../src/transport/index.js';
import { PendingRequests } from '../../../src/transport/peer-links/pending-requests.js';
import { SendQueue } from '../../../src/transport/peer-links/send-queue.js';

const bytes = (n: number, fill = 0) => Buffer.alloc(n, fill);

describe('send queue', () => {
  it('gives frames back in order and counts their bytes', () => {
    const queue = new SendQueue(100);
    for (let i = 1; i <= 3; i++) expect(queue.offer({ bytes: bytes(10, i) })).toBe(true);
    expect(queue.queuedBytes).toBe(30);
    expect([queue.take(), queue.take(), queue.take()].map((f) => f!.bytes[0])).toEqual([1, 2, 3]);
    expect(queue.take()).toBeUndefined();
    expect(queue.queuedBytes).toBe(0);
  });

  it('refuses a frame that would pass the cap, and takes smaller ones again once there is room', () => {
    const queue = new SendQueue(25);
    expect(queue.offer({ bytes: bytes(10) })).toBe(true);
    expect(queue.offer({ bytes: bytes(10) })).toBe(true);
    expect(queue.offer({ bytes: bytes(10) })).toBe(false);
    expect(queue.queuedBytes).toBe(20);
    expect(queue.offer({ bytes: bytes(5) })).toBe(true);
    queue.take();
    expect(queue.offer({ bytes: bytes(10) })).toBe(true);
    expect(queue.length).toBe(3);
  });

  it('skips frames no longer wanted', () => {
    const queue = new SendQueue(100);
    queue.offer({ bytes: bytes(1, 1), wanted: () => false });
    queue.offer({ bytes: bytes(1, 2) });
    expect(queue.take()!.bytes[0]).toBe(2);
    expect(queue.queuedBytes).toBe(0);
  });

  it('stays in order over many takes and offers', () => {
    const queue = new SendQueue(1_000_000);
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) queue.offer({ bytes: Buffer.from([next++ % 256]) });
      for (let i = 0; i < 70; i++) out.push(queue.take()!.bytes[0]!);
    }
    while (queue.length) out.push(queue.take()!.bytes[0]!);
    expect(out).toEqual(Array.from({ length: 5_000 }, (_, i) => i % 256));
  });
});

describe('pending requests', () => {
  it('settles an answer from the peer and link it was asked on', async () => {
    const table = new PendingRequests(new ManualClock());
    const { id, answer } = table.open('node-b', 'vote', 1, 1_000);
    expect(table.settle('node-b', 1, { type: 'response', id, kind: 'vote', ok: true, body: { granted: true } })).toBe('answered');
    await expect(answer).resolves.toEqual({ granted: true });
  });

  it('an error answer rejects with its code', async () => {
    const table = new PendingRequests(new ManualClock());
    const { id, answer } = table.open('node-b', 'vote', 1, 1_000);
    table.settle('node-b', 1, { type: 'response', id, kind: 'vote', ok: false, error: { code: 'not_leader', message: 'no' } });
    await expect(answer).rejects.toEqual(new PeerRequestFailedError('not_leader', 'no'));
  });

  it('the deadline rejects with a typed error, and a later answer is late', async () => {
    const clock = new ManualClock();
    const table = new PendingRequests(clock);
    const { id, answer } = table.open('node-b', 'vote', 1, 1_000);
    clock.advance(999);
    expect(table.isOpen(id)).toBe(true);
    clock.advance(1);
    await expect(answer).rejects.toBeInstanceOf(PeerRequestTimeoutError);
    expect(table.settle('node-b', 1, { type: 'response', id, kind: 'vote', ok: true, body: {} })).toBe('late');
    expect(table.settle('node-b', 1, { type: 'response', id: 999, kind: 'vote', ok: true, body: {} })).toBe('unknown');
  });

  it('an answer from another peer, link or kind settles nothing', () => {
    const table = new PendingRequests(new ManualClock());
    const { id } = table.open('node-b', 'vote', 1, 1_000);
    expect(table.settle('node-c', 1, { type: 'response', id, kind: 'vote', ok: true, body: {} })).toBe('unknown');
    expect(table.settle('node-b', 2, { type: 'response', id, kind: 'vote', ok: true, body: {} })).toBe('unknown');
    expect(table.settle('node-b', 1, { type: 'response', id, kind: 'append', ok: true, body: {} })).toBe('unknown');
    expect(table.isOpen(id)).toBe(true);
  });

  it('a link that closes fails its requests at once and no others', async () => {
    const clock = new ManualClock();
    const table = new PendingRequests(clock);
    const first = table.open('node-b', 'vote', 1, 1_000);
    const second = table.open('node-c', 'vote', 2, 1_000);
    table.failConnection(1, (peer) => new PeerLinkDownError(peer, 'dropped'));
    await expect(first.answer).rejects.toEqual(new PeerLinkDownError('node-b', 'dropped'));
    expect(table.isOpen(second.id)).toBe(true);
    // Its deadline timer is gone with it: nothing fires later.
    clock.advance(5_000);
    await expect(second.answer).rejects.toBeInstanceOf(PeerRequestTimeoutError);
    expect(table.size).toBe(0);
  });
});
