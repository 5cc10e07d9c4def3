/**
 * Requests waiting for their answers. Each has a deadline on the injected clock and belongs to the
 * connection it was written on: when that connection closes its requests fail at once (an answer
 * can only come back on the socket the request went out on). An answer that comes after its
 * deadline finds nothing here and is dropped; the last few thousand expired ids are remembered so
 * such an answer can be told apart from one that answers nothing ever asked.
 */
import type { Clock } from '../../clock/index.js';
import type { ResponseFrame } from '../peer-protocol/index.js';
import { PeerRequestFailedError, PeerRequestTimeoutError } from './errors.js';

interface Pending {
  peerId: string;
  kind: string;
  connectionId: number;
  resolve(body: unknown): void;
  reject(error: Error): void;
  cancelTimer(): void;
}

export type Settlement = 'answered' | 'late' | 'unknown';

const REMEMBERED_EXPIRED = 4096;

export class PendingRequests {
  private readonly pending = new Map<number, Pending>();
  private readonly expired = new Set<number>();
  private lastId = 0;

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.pending.size;
  }

  /** A fresh id and the promise its answer settles; rejects with PeerRequestTimeoutError at the deadline. */
  open(peerId: string, kind: string, connectionId: number, timeoutMs: number): { id: number; answer: Promise<unknown> } {
    const id = ++this.lastId;
    const answer = new Promise<unknown>((resolve, reject) => {
      const cancelTimer = this.clock.setTimer(timeoutMs, () => {
        if (!this.pending.delete(id)) return;
        this.rememberExpired(id);
        reject(new PeerRequestTimeoutError(peerId, kind, timeoutMs));
      });
      this.pending.set(id, { peerId, kind, connectionId, resolve, reject, cancelTimer });
    });
    return { id, answer };
  }

  isOpen(id: number): boolean {
    return this.pending.has(id);
  }

  /** Settle the request `response` answers, if it came from the peer and connection it was asked on. */
  settle(peerId: string, connectionId: number, response: ResponseFrame): Settlement {
    const entry = this.pending.get(response.id);
    if (!entry || entry.peerId !== peerId || entry.connectionId !== connectionId || entry.kind !== response.kind) {
      return this.expired.has(response.id) ? 'late' : 'unknown';
    }
    this.pending.delete(response.id);
    entry.cancelTimer();
    if (response.ok) entry.resolve(response.body);
    else entry.reject(new PeerRequestFailedError(response.error.code, response.error.message));
    return 'answered';
  }

  /** Fail one request (its frame could not be queued, say). */
  fail(id: number, error: Error): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    entry.cancelTimer();
    entry.reject(error);
  }

  /** Fail every request written on `connectionId`; `error` makes each one's error. */
  failConnection(connectionId: number, error: (peerId: string) => Error): void {
    for (const [id, entry] of this.pending) {
      if (entry.connectionId === connectionId) this.fail(id, error(entry.peerId));
    }
  }

  /** Fail everything (the links are shutting down). */
  failAll(error: (peerId: string) => Error): void {
    for (const [id, entry] of this.pending) this.fail(id, error(entry.peerId));
  }

  private rememberExpired(id: number): void {
    this.expired.add(id);
    if (this.expired.size > REMEMBERED_EXPIRED) this.expired.delete(this.expired.values().next().value!);
  }
}
