/** The object storage contract on the database backend over PostgreSQL (test/support/postgres.ts, one database for the suite). */
import { openDatabaseBackend } from './object-storage.backends.js';
import { describeObjectStorageContract } from './object-storage.contract.js';

describeObjectStorageContract('database on postgres', () => openDatabaseBackend('postgres'), { shareable: true });
