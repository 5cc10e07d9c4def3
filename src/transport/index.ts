/**
 * The wire: zod schemas of every message kici exchanges (the agent link, the peer mesh; the relay
 * later), frame parsing and close codes, and the peer links that carry the mesh.
 */
export * from './agent-protocol/index.js';
export * from './peer-protocol/index.js';
export * from './peer-links/index.js';
