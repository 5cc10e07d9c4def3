/** The RunStore contract against the in-memory fake the RunActor unit tests run on. */
import { MemoryRunStore } from '../unit/runs/memory-run-store.js';
import { describeRunStoreContract } from './run-store.contract.js';

describeRunStoreContract('memory', async () => {
  const store = new MemoryRunStore();
  return { store, seed: async (run) => store.add(run), close: async () => undefined };
});
