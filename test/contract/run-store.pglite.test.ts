/** The RunStore contract against the real store on PGlite (a temp directory, shared by the suite). */
import { openDatabaseBackend } from './database-backend.js';
import { describeRunStoreContract } from './run-store.contract.js';

describeRunStoreContract('pglite', () => openDatabaseBackend('pglite'));
