/** The environment bindings contract on PGlite (a temp directory). */
import { openTestStore } from '../support/store-drivers.js';
import { describeEnvironmentBindingContract } from './environment-bindings.contract.js';

describeEnvironmentBindingContract('pglite', () => openTestStore('pglite'));
