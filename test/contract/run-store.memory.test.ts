/** The RunStore contract against the in-memory store the RunActor unit tests and the cluster simulator run on. */
import { MemoryRunStore } from '../../src/runs/index.js';
import { describeRunStoreContract } from './run-store.contract.js';

describeRunStoreContract('memory', async () => {
  // No shard rows to start with, as a freshly migrated database has none.
  const store = new MemoryRunStore({ shards: [] });
  return {
    store,
    seed: async (run, shard) => store.add(run, shard),
    raiseShard: async (shard, epoch) => store.raiseShard(shard, epoch),
    dropShard: async (shard) => store.dropShard(shard),
    close: async () => undefined,
  };
});
