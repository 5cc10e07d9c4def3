/** The EnvironmentStore contract against the store's repository on PostgreSQL (test/support/postgres.ts, one database for the suite). */
import { describeEnvironmentStoreContract } from './environment-store.contract.js';
import { openEnvironmentDatabase } from './environment-store.database.js';

describeEnvironmentStoreContract('postgres', () => openEnvironmentDatabase('postgres'));
