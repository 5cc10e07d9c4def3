/**
 * A write from a node whose shard epoch is older than the row's: another node owns the run now.
 * The caller must stop acting for this run (its actor passivates), never retry.
 */
export class FencedWriteError extends Error {
  constructor(
    readonly entity: 'run' | 'job' | 'step',
    readonly id: string,
    readonly epoch: number,
    readonly currentEpoch: number,
  ) {
    super(`${entity} ${id}: write at epoch ${epoch} fenced off (row is owned at epoch ${currentEpoch})`);
    this.name = 'FencedWriteError';
  }
}

export class NotFoundError extends Error {
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${id} not found`);
    this.name = 'NotFoundError';
  }
}

/** A node that was revoked gets no certificate again (its id is barred for good). */
export class NodeRevokedError extends Error {
  constructor(readonly nodeId: string) {
    super(`node ${nodeId} was revoked: it cannot join the cluster again under this id`);
    this.name = 'NodeRevokedError';
  }
}
