/**
 * The peer protocol (`/ws/peer` on the cluster port): frames as zod schemas, the kinds registry
 * that makes bodies pluggable, the MessagePack codec that validates after decoding, and the close
 * codes. Exports are listed by name so generic names stay inside and cannot collide with the
 * agent protocol's.
 */
export { PeerCloseCode, peerCloseCodeName } from './close-codes.js';
export type { PeerCloseCodeName, PeerCloseCodeValue } from './close-codes.js';
export {
  PEER_PROTOCOL_VERSION,
  MIN_PEER_PROTOCOL_VERSION,
  MAX_PEER_PROTOCOL_VERSION,
  MAX_REQUEST_TIMEOUT_MS,
  peerFrame,
  helloFrame,
  messageFrame,
  requestFrame,
  responseFrame,
  pingFrame,
  pongFrame,
} from './frames.js';
export type { PeerFrame, HelloFrame, MessageFrame, RequestFrame, ResponseFrame, RequestError, PingFrame, PongFrame } from './frames.js';
export { PEER_KIND_PATTERN, PeerKinds } from './kinds.js';
export type { AnyPeerKind, PeerMessageKind, PeerRequestKind } from './kinds.js';
export { DEFAULT_MAX_FRAME_BYTES, PeerCodec, PeerFrameTooLargeError } from './codec.js';
export type { DecodeResult, PeerCodecOptions } from './codec.js';
export { RAFT_KIND, RAFT_SNAPSHOT_CHUNK_KIND, raftMessageBody, raftSnapshotChunkBody, registerRaftKinds, type RaftKinds } from './raft-messages.js';
export {
  JOIN_CA_PATH,
  JOIN_PATH,
  JOIN_SECRETS_PURPOSE,
  MAX_JOIN_REQUEST_BYTES,
  joinAccepted,
  joinRefused,
  joinRequest,
  joinSecrets,
  type JoinAccepted,
  type JoinMember,
  type JoinRefusalCode,
  type JoinRefused,
  type JoinRequest,
  type JoinSecrets,
} from './join.js';
export {
  ACTOR_DELIVER_KIND,
  actorDeliverAnswer,
  actorEnvelopeBody,
  registerActorKinds,
  type ActorDeliverAnswer,
  type ActorEnvelopeBody,
  type ActorKinds,
} from './actor-messages.js';
export {
  agentCommandBody,
  agentSlotsBody,
  jobOfferAnswer,
  jobOfferBody,
  registerAgentMeshKinds,
  type AgentCommandBody,
  type AgentMeshKinds,
  type AgentSlotsBody,
  type JobOfferAnswer,
  type JobOfferBody,
} from './agent-mesh.js';
export {
  agentTokenAnswer,
  forwardedWebhookAnswer,
  forwardedWebhookBody,
  registerWorkerLinkKinds,
  workerViewBody,
  type ForwardedWebhookAnswer,
  type ForwardedWebhookBody,
  type WorkerAgentBody,
  type WorkerLinkKinds,
  type WorkerStatusBody,
  type WorkerViewBody,
} from './worker-link.js';
export {
  KEY_OFFER_PURPOSE,
  keyOfferSecrets,
  registerMasterKeyKinds,
  type KeyOfferSecrets,
  type MasterKeyKinds,
} from './master-key.js';
