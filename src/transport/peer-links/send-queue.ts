/**
 * One peer's outgoing frames, in the order they were sent, with a byte cap. Frames wait here
 * while the peer is down and while the socket's own buffer is full; the links drain it in order.
 * Past the cap a frame is refused (back-pressure) rather than queued, so a peer that is gone for a
 * long time costs at most the cap.
 */
export interface QueuedFrame {
  bytes: Buffer;
  /** False once the frame is no longer worth sending (its request already failed); it is skipped. */
  wanted?: () => boolean;
}

export class SendQueue {
  private items: (QueuedFrame | undefined)[] = [];
  private head = 0;
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  get queuedBytes(): number {
    return this.bytes;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** Would `size` more bytes still fit under the cap? */
  fits(size: number): boolean {
    return this.bytes + size <= this.maxBytes;
  }

  /** Queue `frame` at the end; false (and nothing queued) when it would pass the cap. */
  offer(frame: QueuedFrame): boolean {
    if (!this.fits(frame.bytes.length)) return false;
    this.items.push(frame);
    this.bytes += frame.bytes.length;
    return true;
  }

  /** The oldest frame still wanted, taken off the queue. */
  take(): QueuedFrame | undefined {
    while (this.head < this.items.length) {
      const frame = this.items[this.head]!;
      this.items[this.head] = undefined;
      this.head += 1;
      this.bytes -= frame.bytes.length;
      this.compact();
      if (!frame.wanted || frame.wanted()) return frame;
    }
    return undefined;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytes = 0;
  }

  // Taking from the front leaves holes; they are dropped in one go once they are half the array.
  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
