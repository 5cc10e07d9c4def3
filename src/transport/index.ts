/**
 * The wire: zod schemas of every message kici exchanges (agent link now; peer mesh and relay
 * later), frame parsing and close codes.
 */
export * from './agent-protocol/index.js';
