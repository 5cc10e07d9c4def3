/** The environment bindings contract on PostgreSQL (test/support/postgres.ts, a fresh database). */
import { openTestStore } from '../support/store-drivers.js';
import { describeEnvironmentBindingContract } from './environment-bindings.contract.js';

describeEnvironmentBindingContract('postgres', () => openTestStore('postgres'));
