/**
 * Polling, shared with `npm run cluster`: `waitUntil` tries a probe until it gives a value other
 * than undefined, retrying one that throws until the deadline (30 s, every 150 ms by default) unless
 * it throws `Fatal`; the timeout names what was awaited, the last error and the last thing seen.
 */
export { Fatal, sleep, waitUntil } from '../../../cluster/processes.js';
