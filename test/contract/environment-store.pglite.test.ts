/** The EnvironmentStore contract against the store's repository on PGlite (a temp directory, shared by the suite). */
import { describeEnvironmentStoreContract } from './environment-store.contract.js';
import { openEnvironmentDatabase } from './environment-store.database.js';

describeEnvironmentStoreContract('pglite', () => openEnvironmentDatabase('pglite'));
