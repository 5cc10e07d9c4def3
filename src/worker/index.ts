/**
 * The edge worker's room: what an orchestrator node without a database needs to host agents while
 * the owners of their runs live elsewhere, and to keep what they report while none is reachable.
 */
export { WorkerOutbox, DEFAULT_WORKER_OUTBOX_MAX_BYTES, HELD_TYPES, gapMarkerText, isHeldMessage } from './outbox.js';
export type { DroppedLog, HeldReport, HeldRunMessage, HeldType, OutboxLoaded, StoredReport, WorkerOutboxOptions } from './outbox.js';
export { ClusterView, type AgentTokenGrant, type ViewMember } from './cluster-view.js';
export { WorkerRelay, type RelayParts } from './relay.js';
