/** Errors the runtime hands to callers of `ask` (and to dead-letter hooks). */

export class AskTimeoutError extends Error {
  constructor(kind: string, key: string, timeoutMs: number) {
    super(`no reply from ${kind}/${key} within ${timeoutMs} ms`);
    this.name = 'AskTimeoutError';
  }
}

export class ActorStoppedError extends Error {
  constructor(kind: string, key: string) {
    super(`actor ${kind}/${key} is stopped after repeated failures`);
    this.name = 'ActorStoppedError';
  }
}

export class UnknownActorKindError extends Error {
  constructor(kind: string) {
    super(`no actor kind "${kind}" is registered`);
    this.name = 'UnknownActorKindError';
  }
}

/** The shard is owned by another node and there is no way (or no permission) to forward. */
export class NoRouteError extends Error {
  constructor(kind: string, key: string, node: string | undefined) {
    super(
      node === undefined
        ? `no owner known for the shard of ${kind}/${key}`
        : `${kind}/${key} lives on node ${node} and no remote sender is configured`,
    );
    this.name = 'NoRouteError';
  }
}

/** A remote envelope reached a node that does not own its shard (the sender's map is out of date). */
export class NotShardOwnerError extends Error {
  constructor(
    readonly shard: number,
    readonly owner: string | undefined,
  ) {
    super(`this node does not own shard ${shard}${owner ? ` (owner: ${owner})` : ''}`);
    this.name = 'NotShardOwnerError';
  }
}

export class ActorSystemClosedError extends Error {
  constructor() {
    super('the actor system is shut down');
    this.name = 'ActorSystemClosedError';
  }
}

/** A remote envelope named a kind whose actors are pinned to the node that sends to them. */
export class NodePinnedKindError extends Error {
  constructor(kind: string) {
    super(`actor kind "${kind}" is pinned to its own node and cannot be reached from another`);
    this.name = 'NodePinnedKindError';
  }
}

/** No node that owns the target's shard took a message sent to another node before its deadline. */
export class ActorDeliveryTimeoutError extends Error {
  constructor(envelope: { kind: string; key: string }, timeoutMs: number, last: string) {
    super(`no owner of ${envelope.kind}/${envelope.key} took the message within ${timeoutMs} ms (${last})`);
    this.name = 'ActorDeliveryTimeoutError';
  }
}
