/** The RunStore contract against the real store on PostgreSQL (test/support/postgres.ts, one database for the suite). */
import { openDatabaseBackend } from './database-backend.js';
import { describeRunStoreContract } from './run-store.contract.js';

describeRunStoreContract('postgres', () => openDatabaseBackend('postgres'));
