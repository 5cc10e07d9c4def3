/**
 * The vocabulary room: the status names every other room agrees on (runs, jobs, steps, webhook
 * deliveries). It imports nothing of ours, so the lock file, the store, the run domain, the wire
 * and the admin surface can all depend on it without depending on each other.
 */
export * from './statuses.js';
export * from './delivery-statuses.js';
export * from './peer-address.js';
