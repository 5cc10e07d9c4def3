/** The object storage contract on the database backend over PGlite (a temp directory). */
import { openDatabaseBackend } from './object-storage.backends.js';
import { describeObjectStorageContract } from './object-storage.contract.js';

describeObjectStorageContract('database on pglite', () => openDatabaseBackend('pglite'), { shareable: true });
