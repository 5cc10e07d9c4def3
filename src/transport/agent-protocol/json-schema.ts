import { z } from 'zod';
import { agentMessage } from './agent-messages.js';
import { CloseCode } from './close-codes.js';
import { MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from './common.js';
import { orchestratorMessage } from './orchestrator-messages.js';

/** Both directions of the agent link as JSON Schema, for `kici-admin protocol schema`. */
export function protocolJsonSchema(): {
  protocolVersion: number;
  minProtocolVersion: number;
  maxProtocolVersion: number;
  closeCodes: typeof CloseCode;
  agentToOrchestrator: Record<string, unknown>;
  orchestratorToAgent: Record<string, unknown>;
} {
  return {
    protocolVersion: PROTOCOL_VERSION,
    minProtocolVersion: MIN_PROTOCOL_VERSION,
    maxProtocolVersion: MAX_PROTOCOL_VERSION,
    closeCodes: CloseCode,
    // `input`: what a sender must write (fields with defaults are optional there).
    agentToOrchestrator: z.toJSONSchema(agentMessage, { io: 'input' }) as Record<string, unknown>,
    orchestratorToAgent: z.toJSONSchema(orchestratorMessage, { io: 'input' }) as Record<string, unknown>,
  };
}
