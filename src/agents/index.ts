export { AgentHub, type HubOptions } from './hub.js';
export type { JobEvents, JobRef, RefusedClaim } from './job-events.js';
export { AgentActor, AGENT_ACTOR_KIND, agentActorFactory, type AgentActorDeps, type AgentActorMessage } from './agent-actor.js';
export { AgentSession, type AgentSocket, type TokenGrant } from './session.js';
export { AgentDirectory, type AgentEntry } from './directory.js';
export { JobDispatcher, type DispatchRequest, type InFlight, type Placement, type RecordAgent } from './dispatcher.js';
export { FrameBudget, AGENT_FRAME_LIMITS, type FrameLimits, type FrameVerdict } from './frame-budget.js';
export { MeshPlacement, type MeshPort, type OfferAnswer } from './mesh-placement.js';
export { RemoteAgents, type RemoteAgent, type AgentSlots } from './remote-agents.js';
