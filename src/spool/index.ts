/**
 * The spool room: a directory of fsync'd, sequence-numbered entry files, read back in order and
 * checked against a schema after a restart. The agent's outbox and the edge worker's outbox both
 * keep what they could not send yet in one. Also the one way to replace a single small file so a
 * crash leaves the old content or the new, never a torn mix.
 */
export { Spool } from './spool.js';
export type { SpoolEntry, SpoolLoad, SpoolWrite } from './spool.js';
export { replaceFileDurably, syncDirectory, writeWhole } from './durable-file.js';
