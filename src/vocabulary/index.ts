/**
 * The vocabulary room: the names and small rules every other room agrees on (run, job, step and
 * webhook delivery statuses, peer addresses, agent slot caps). It imports nothing of ours, so the
 * lock file, the store, the run domain, the wire and the admin surface can all depend on it without
 * depending on each other.
 */
export * from './statuses.js';
export * from './delivery-statuses.js';
export * from './peer-address.js';
export * from './agent-slots.js';
export * from './unanswered-dispatch.js';
