/** The EnvironmentStore contract against the in-memory store. */
import { MemoryEnvironmentStore } from '../../src/environments/index.js';
import { describeEnvironmentStoreContract } from './environment-store.contract.js';

describeEnvironmentStoreContract('memory', async () => {
  const store = new MemoryEnvironmentStore();
  return {
    store,
    setPendingHolds: async (environmentId, count) => store.setPendingHolds(environmentId, count),
    close: async () => undefined,
  };
});
