/** The admin token and audit contract on PostgreSQL (test/support/postgres.ts, a fresh database per backend opened). */
import { describeAdminTokenStoreContract } from './admin-token-store.contract.js';
import { openAdminTokenDatabase } from './admin-token-store.database.js';

describeAdminTokenStoreContract('postgres', () => openAdminTokenDatabase('postgres'));
