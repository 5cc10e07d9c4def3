/**
 * The EnvGroupActor: admission to one environment concurrency group of one org. Its key is
 * (org, group), so it lives on the owner of that key's shard and every node asks the same one:
 * `concurrency_limit` holds across the cluster however many runs ask at once (invariant 4).
 *
 * The decisions are EnvGroup's (env-group.ts); this shell takes messages one at a time, answers
 * the asker, and hands every decision about another job (admitted from the line, cancelled by a
 * newer one) to the `notify` port, which reaches that job's run wherever it lives. Its state is a
 * cache of the store: given a `load` port it rebuilds it on activation, and again every RELOAD_MS
 * while jobs wait (so a slot whose release was lost with a node is found free); without one it
 * stays active while it holds anything, since nothing could rebuild it.
 */
import type { Actor, ActorContext, ActorRef, ActorSystem, KindOptions } from '../actors/index.js';
import { EnvGroup, type EnvGroupSnapshot, type GroupSettings, type JobRef, type SlotAnswer, type SlotNotice } from './env-group.js';

export const ENV_GROUP_KIND = 'env-group';

/** While jobs wait, the store is read again this often, in case a job ended unheard. */
export const RELOAD_MS = 30_000;

export interface EnvGroupIdentity {
  orgId: string;
  /** An environment's name as jobs ask for it, or a job's `concurrencyGroup`. */
  group: string;
}

export type EnvGroupMessage =
  /** A job asks for a slot; answered with a SlotAnswer. Safe to repeat. */
  | ({ type: 'request' } & JobRef & GroupSettings)
  /** A job ended or stopped waiting: its slot or its place goes to the next in line. */
  | ({ type: 'release' } & JobRef)
  /** The environment's rules changed. */
  | ({ type: 'configure' } & GroupSettings)
  /** Catch up with these jobs (the store's word); `settings` when they are known. */
  | { type: 'recover'; running: JobRef[]; waiting: JobRef[]; settings?: GroupSettings }
  /** Read the store again through the `load` port. */
  | { type: 'reload' }
  /** Where the group stands (tests, diagnostics). */
  | { type: 'snapshot' };

/** What the store holds of a group: its jobs holding slots, its jobs waiting (oldest first), its rules. */
export interface StoredEnvGroup {
  running: JobRef[];
  waiting: JobRef[];
  settings?: GroupSettings;
}

export interface EnvGroupPorts {
  /** Tell a job's run what became of it (a tell: it must not wait for the run). */
  notify(group: EnvGroupIdentity, notice: SlotNotice): void;
  /** The group as the store has it; without it the actor never passivates while it holds anything. */
  load?(group: EnvGroupIdentity): Promise<StoredEnvGroup>;
  /** A notice `notify` threw on; the job's run heals it by asking again (requests are idempotent). */
  undelivered?(group: EnvGroupIdentity, notice: SlotNotice, error: unknown): void;
}

export class EnvGroupActor implements Actor<EnvGroupMessage> {
  private readonly identity: EnvGroupIdentity;
  private readonly core: EnvGroup;
  private cancelReload: (() => void) | undefined;

  constructor(
    private readonly ctx: ActorContext<EnvGroupMessage>,
    private readonly ports: EnvGroupPorts,
  ) {
    this.identity = envGroupOfKey(ctx.key);
    this.core = new EnvGroup(this.identity.group);
  }

  async onActivate(): Promise<void> {
    await this.reload();
  }

  async receive(msg: EnvGroupMessage): Promise<SlotAnswer | EnvGroupSnapshot | undefined> {
    try {
      return await this.handle(msg);
    } finally {
      this.armReload();
    }
  }

  canPassivate(): boolean {
    return this.ports.load !== undefined || this.core.idle;
  }

  private async handle(msg: EnvGroupMessage): Promise<SlotAnswer | EnvGroupSnapshot | undefined> {
    switch (msg.type) {
      case 'request': {
        const { answer, notices } = this.core.request(msg, { limit: msg.limit, strategy: msg.strategy, rulesAt: msg.rulesAt });
        this.tell(notices);
        return answer;
      }
      case 'release':
        this.tell(this.core.release(msg));
        return undefined;
      case 'configure':
        this.tell(this.core.configure(msg));
        return undefined;
      case 'recover':
        this.tell(this.core.recover(msg.running, msg.waiting, msg.settings));
        return undefined;
      case 'reload':
        this.cancelReload = undefined;
        await this.reload();
        return undefined;
      case 'snapshot':
        return this.core.snapshot();
    }
  }

  private async reload(): Promise<void> {
    if (!this.ports.load) return;
    const stored = await this.ports.load(this.identity);
    this.tell(this.core.recover(stored.running, stored.waiting, stored.settings));
  }

  /**
   * A throwing port must not crash the actor: a crash drops the state, which may be all there is
   * of who holds the slots. The job whose notice was lost asks again and gets the same answer.
   */
  private tell(notices: SlotNotice[]): void {
    for (const notice of notices) {
      try {
        this.ports.notify(this.identity, notice);
      } catch (error) {
        this.ports.undelivered?.(this.identity, notice, error);
      }
    }
  }

  /** Jobs waiting (and a store to read) keep a reload armed, and so the actor active. */
  private armReload(): void {
    const wanted = this.ports.load !== undefined && this.core.snapshot().waiting.length > 0;
    if (wanted && !this.cancelReload) this.cancelReload = this.ctx.schedule(RELOAD_MS, { type: 'reload' });
    if (!wanted && this.cancelReload) {
      this.cancelReload();
      this.cancelReload = undefined;
    }
  }
}

/** Register the `env-group` kind on a node's actor system: sharded by (org, group), like runs. */
export function registerEnvGroupActor(system: ActorSystem, ports: EnvGroupPorts, options: KindOptions<EnvGroupMessage> = {}): void {
  // An actor whose store read failed reads it again once its backoff has passed, unprompted.
  const wake: KindOptions<EnvGroupMessage> = ports.load ? { wakeAfterFailure: { type: 'reload' } } : {};
  system.register<EnvGroupMessage>(ENV_GROUP_KIND, (ctx) => new EnvGroupActor(ctx, ports), { ...wake, ...options });
}

/** The ref of one group's actor, wherever it lives. */
export function envGroupRef(system: ActorSystem, group: EnvGroupIdentity): ActorRef<EnvGroupMessage> {
  return system.ref<EnvGroupMessage>(ENV_GROUP_KIND, envGroupKey(group));
}

/** A group's key: stable across nodes (it is hashed to the group's shard) and reversible. */
export function envGroupKey(group: EnvGroupIdentity): string {
  return JSON.stringify([group.orgId, group.group]);
}

/** The identity behind a key made by `envGroupKey`; throws on anything else. */
export function envGroupOfKey(key: string): EnvGroupIdentity {
  const parsed: unknown = JSON.parse(key);
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string') {
    throw new Error(`not an environment group key: ${key}`);
  }
  return { orgId: parsed[0], group: parsed[1] };
}
