/**
 * A write the shard fence refused: the writer's epoch is not the one its shard's row holds (another
 * node gained the shard and raised the row, or the writer acts before raising it), or the shard has
 * no row at all. The caller must stop acting for the shard's runs (its actors passivate), never retry.
 */
export class FencedWriteError extends Error {
  constructor(
    readonly entity: 'run' | 'job' | 'step',
    readonly id: string,
    readonly epoch: number,
    /** The epoch in the shard's row; null when the shard has no row. */
    readonly currentEpoch: number | null,
  ) {
    super(
      `${entity} ${id}: write at epoch ${epoch} fenced off (${currentEpoch === null ? 'its shard has no row' : `its shard is at epoch ${currentEpoch}`})`,
    );
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
