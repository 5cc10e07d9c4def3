/** The admin token and audit contract on PGlite (a temp directory per backend opened). */
import { describeAdminTokenStoreContract } from './admin-token-store.contract.js';
import { openAdminTokenDatabase } from './admin-token-store.database.js';

describeAdminTokenStoreContract('pglite', () => openAdminTokenDatabase('pglite'));
