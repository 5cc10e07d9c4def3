/**
 * The discrete-event scheduler: one virtual clock and a binary min-heap of timed events. Ties at
 * the same instant are broken by the sequence number given at scheduling time, never by object
 * identity, so the order of a run depends only on the seed.
 */
export interface SimEvent {
  at: number;
  seq: number;
  run: () => void;
  cancelled: boolean;
}

export class EventQueue {
  private heap: SimEvent[] = [];
  private seq = 0;
  private current = 0;

  /** Virtual milliseconds since the start of the run. */
  now(): number {
    return this.current;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Schedule `run` at now + delay; returns the event so the caller may cancel it. */
  schedule(delay: number, run: () => void): SimEvent {
    const ev: SimEvent = { at: this.current + Math.max(0, delay), seq: this.seq++, run, cancelled: false };
    this.push(ev);
    return ev;
  }

  /** Schedule `run` at virtual time `at` (now, if `at` has passed). */
  scheduleAt(at: number, run: () => void): SimEvent {
    const ev: SimEvent = { at: Math.max(this.current, at), seq: this.seq++, run, cancelled: false };
    this.push(ev);
    return ev;
  }

  /** The Clock shape the core's driver expects: `{ now(); setTimer(ms, fn) }`. */
  clock(): { now(): number; setTimer(ms: number, fn: () => void): () => void } {
    return {
      now: () => this.current,
      setTimer: (ms, fn) => {
        const ev = this.schedule(ms, fn);
        return () => {
          ev.cancelled = true;
        };
      },
    };
  }

  /** Run the next due event at or before `until`; false when there is none. */
  step(until: number): boolean {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.at > until) return false;
      this.pop();
      if (top.cancelled) continue;
      this.current = top.at;
      top.run();
      return true;
    }
  }

  /** Move the clock to `at` without running anything (used when a run ends early). */
  advanceTo(at: number): void {
    if (at > this.current) this.current = at;
  }

  private less(x: SimEvent, y: SimEvent): boolean {
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }

  private push(ev: SimEvent): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l], h[m])) m = l;
      if (r < h.length && this.less(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}
