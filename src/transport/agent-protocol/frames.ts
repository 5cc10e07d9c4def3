import type { z } from 'zod';
import { agentMessage, type AgentMessage } from './agent-messages.js';
import { orchestratorMessage, type OrchestratorMessage } from './orchestrator-messages.js';

export type FrameResult<T> = { ok: true; message: T } | { ok: false; error: string };

/** Parse one agent → orchestrator text frame. Never throws. */
export function parseAgentFrame(frame: string | Uint8Array): FrameResult<AgentMessage> {
  return parseWith(agentMessage, frame);
}

/** Parse one orchestrator → agent text frame. Never throws. */
export function parseOrchestratorFrame(frame: string | Uint8Array): FrameResult<OrchestratorMessage> {
  return parseWith(orchestratorMessage, frame);
}

function parseWith<S extends z.ZodType>(schema: S, frame: string | Uint8Array): FrameResult<z.infer<S>> {
  let value: unknown;
  try {
    const text = typeof frame === 'string' ? frame : Buffer.from(frame).toString('utf8');
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'frame is not valid JSON' };
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, message: parsed.data };
  return { ok: false, error: describeIssues(parsed.error.issues) };
}

/**
 * Names the first few bad fields by path. Zod messages describe the expected shape, never the
 * received value, so a token sent in the wrong field cannot leak through this text.
 */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(frame)'}: ${issue.message}`)
    .join('; ');
}
