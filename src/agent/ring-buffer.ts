/** A bounded FIFO: when full, the oldest entry makes room and the drop is counted. */
export class RingBuffer<T> {
  private items: T[] = [];
  private head = 0;
  private droppedCount = 0;

  constructor(readonly capacity: number) {
    if (capacity < 1) throw new Error('ring buffer capacity must be at least 1');
  }

  get size(): number {
    return this.items.length - this.head;
  }

  get dropped(): number {
    return this.droppedCount;
  }

  /** Returns false when an older entry had to be dropped to make room. */
  push(item: T): boolean {
    let kept = true;
    if (this.size >= this.capacity) {
      this.head += 1;
      this.droppedCount += 1;
      kept = false;
    }
    this.items.push(item);
    // Compact now and then so the backing array does not grow without bound.
    if (this.head > this.capacity) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return kept;
  }

  /** The oldest entry, removed; undefined when empty. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head] as T;
    this.head += 1;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    }
    return item;
  }

  /** Everything in order, oldest first, left in place. */
  toArray(): T[] {
    return this.items.slice(this.head);
  }

  /** Forget the drop count once it has been reported. */
  resetDropped(): void {
    this.droppedCount = 0;
  }

  /** Everything in order, oldest first; the buffer is empty and the drop count reset afterwards. */
  drain(): T[] {
    const out = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.droppedCount = 0;
    return out;
  }
}
