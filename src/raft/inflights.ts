/**
 * The in-flight window of one follower: the last index of every append message sent but not yet
 * acknowledged. A fixed-size ring so the leader's hot path allocates nothing per message.
 */
export class Inflights {
  private readonly ring: number[];
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<number>(capacity).fill(0);
  }

  get count(): number {
    return this.size;
  }

  full(): boolean {
    return this.size >= this.capacity;
  }

  /** Record an append whose last entry is `lastIndex` (indices only grow within one window). */
  add(lastIndex: number): void {
    if (this.full()) throw new Error('inflights: window is full');
    this.ring[(this.start + this.size) % this.capacity] = lastIndex;
    this.size++;
  }

  /** The follower acknowledged everything up to `index`: free every append ending at or below it. */
  freeLE(index: number): void {
    while (this.size > 0 && this.ring[this.start] <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.size--;
    }
    if (this.size === 0) this.start = 0;
  }

  /** A heartbeat answer proves the follower is alive: let one more append through. */
  freeFirstOne(): void {
    if (this.size === 0) return;
    this.freeLE(this.ring[this.start]);
  }

  reset(): void {
    this.start = 0;
    this.size = 0;
  }
}
