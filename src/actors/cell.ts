/**
 * One virtual actor's home on this node: its mailbox, its current instance (if active), its
 * restart history and idle timer. Messages are handled strictly one at a time, in arrival order;
 * an async handler is awaited before the next message starts.
 */
import type { Clock } from '../clock/index.js';
import { ActorStoppedError } from './errors.js';
import type { Actor, ActorContext, ActorFactory, ActorFailure, ActorRef, SupervisionPolicy } from './types.js';
import type { ActorSystem } from './system.js';

type Item =
  | { type: 'message'; msg: unknown; epoch: number; reply?: Reply }
  | { type: 'passivate'; done: () => void };

interface Reply {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export interface CellDeps {
  kind: string;
  key: string;
  shard: number;
  factory: ActorFactory;
  clock: Clock;
  system: ActorSystem;
  self: ActorRef;
  idleTimeoutMs: number;
  wakeAfterFailure: unknown;
  policy: SupervisionPolicy;
  onError(failure: ActorFailure): void;
  onDeadLetter(msg: unknown, reason: Error): void;
  /** Called after the cell passivated with nothing left to do, so the system can forget it. */
  onIdle(cell: ActorCell): void;
}

export class ActorCell {
  private readonly queue: Item[] = [];
  private draining = false;
  private instance: Actor | undefined;
  private activeEpoch = 0;
  private stopped = false;
  private restartTimes: number[] = [];
  private notBefore = 0;
  private cancelIdle: (() => void) | undefined;
  private readonly schedules = new Set<() => void>();

  constructor(private readonly deps: CellDeps) {}

  get shard(): number {
    return this.deps.shard;
  }

  get kind(): string {
    return this.deps.kind;
  }

  get active(): boolean {
    return this.instance !== undefined;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Nothing in flight and no restart history worth remembering. */
  get forgettable(): boolean {
    return !this.active && !this.draining && this.queue.length === 0 && !this.stopped && this.restartTimes.length === 0;
  }

  post(msg: unknown, epoch: number, reply?: Reply): void {
    if (this.stopped) {
      const error = new ActorStoppedError(this.deps.kind, this.deps.key);
      if (reply) reply.reject(error);
      else this.deps.onDeadLetter(msg, error);
      return;
    }
    this.queue.push({ type: 'message', msg, epoch, reply });
    this.kick();
  }

  /** Deactivate after whatever is already queued (used at shutdown). */
  passivate(): Promise<void> {
    return new Promise((done) => {
      this.queue.push({ type: 'passivate', done });
      this.kick();
    });
  }

  /** Forget a poison actor's failures so it can run again. */
  revive(): void {
    this.stopped = false;
    this.restartTimes = [];
    this.notBefore = 0;
  }

  private kick(): void {
    this.clearIdle();
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (let item = this.queue.shift(); item; item = this.queue.shift()) {
        if (item.type === 'passivate') {
          await this.deactivate(true);
          item.done();
        } else {
          await this.handle(item);
        }
      }
    } finally {
      this.draining = false;
    }
    this.armIdle();
  }

  private async handle(item: Extract<Item, { type: 'message' }>): Promise<void> {
    if (this.stopped) {
      this.refuse(item);
      return;
    }
    // A new shard epoch means this node re-acquired the shard: reload state under the new epoch.
    if (this.instance && this.activeEpoch !== item.epoch) await this.deactivate(true);
    let phase: ActorFailure['phase'] = 'activate';
    try {
      if (!this.instance) await this.activate(item.epoch);
      phase = 'receive';
      const result = await this.instance!.receive(item.msg);
      item.reply?.resolve(result);
    } catch (error) {
      item.reply?.reject(error);
      this.fail(error, phase);
    }
  }

  private async activate(epoch: number): Promise<void> {
    const wait = this.notBefore - this.deps.clock.now();
    if (wait > 0) await new Promise<void>((resume) => this.deps.clock.setTimer(wait, resume));
    const ctx = this.context(epoch);
    const instance = this.deps.factory(ctx);
    this.activeEpoch = epoch;
    await instance.onActivate?.();
    this.instance = instance;
  }

  private context(epoch: number): ActorContext {
    const { kind, key, shard, self, system, clock } = this.deps;
    return {
      kind,
      key,
      shard,
      epoch,
      self,
      system,
      clock,
      schedule: (ms, msg) => this.schedule(ms, msg),
    };
  }

  private schedule(ms: number, msg: unknown): () => void {
    const cancelTimer = this.deps.clock.setTimer(ms, () => {
      this.schedules.delete(cancel);
      this.deps.self.tell(msg);
    });
    const cancel = (): void => {
      cancelTimer();
      this.schedules.delete(cancel);
    };
    this.schedules.add(cancel);
    return cancel;
  }

  /** A crash: drop the instance without letting it run more code, then back off before the next activation. */
  private fail(error: unknown, phase: ActorFailure['phase']): void {
    this.dropInstance();
    const now = this.deps.clock.now();
    const { policy } = this.deps;
    this.restartTimes = this.restartTimes.filter((t) => now - t < policy.windowMs);
    this.restartTimes.push(now);
    const restarts = this.restartTimes.length;
    this.stopped = restarts > policy.maxRestarts;
    const backoff = Math.min(policy.backoffBaseMs * 2 ** (restarts - 1), policy.backoffMaxMs);
    this.notBefore = now + backoff;
    this.deps.onError({ kind: this.deps.kind, key: this.deps.key, error, restarts, stopped: this.stopped, phase });
    if (this.stopped) this.refuseQueued();
    else if (this.deps.wakeAfterFailure !== undefined) {
      const wake = this.deps.wakeAfterFailure;
      this.deps.clock.setTimer(backoff, () => this.deps.self.tell(wake));
    }
  }

  private refuseQueued(): void {
    const pending = this.queue.splice(0);
    for (const item of pending) {
      if (item.type === 'passivate') item.done();
      else this.refuse(item);
    }
  }

  private refuse(item: Extract<Item, { type: 'message' }>): void {
    const error = new ActorStoppedError(this.deps.kind, this.deps.key);
    if (item.reply) item.reply.reject(error);
    else this.deps.onDeadLetter(item.msg, error);
  }

  private async deactivate(graceful: boolean): Promise<void> {
    const instance = this.instance;
    this.dropInstance();
    if (!instance || !graceful) return;
    try {
      await instance.onPassivate?.();
    } catch (error) {
      // A failing passivation loses nothing the store does not have; report it and move on.
      this.deps.onError({ kind: this.deps.kind, key: this.deps.key, error, restarts: 0, stopped: false, phase: 'passivate' });
    }
  }

  private dropInstance(): void {
    this.instance = undefined;
    for (const cancel of [...this.schedules]) cancel();
  }

  private armIdle(): void {
    this.clearIdle();
    if (!this.instance) {
      if (this.forgettable) this.deps.onIdle(this);
      return;
    }
    this.cancelIdle = this.deps.clock.setTimer(this.deps.idleTimeoutMs, () => this.onIdleTimeout());
  }

  private onIdleTimeout(): void {
    this.cancelIdle = undefined;
    if (this.draining || this.queue.length > 0 || !this.instance) return;
    const busy = this.schedules.size > 0 || this.instance.canPassivate?.() === false;
    if (busy) {
      this.armIdle();
      return;
    }
    void this.passivate();
  }

  private clearIdle(): void {
    this.cancelIdle?.();
    this.cancelIdle = undefined;
  }
}
