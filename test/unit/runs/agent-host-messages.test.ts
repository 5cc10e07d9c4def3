import { describe, expect, it } from 'vitest';
import { isAgentHostMessage } from '../../../src/runs/index.js';

describe('what an edge worker may tell a run', () => {
  it('is its agents\' claims and their comings and goings, nothing a coordinator decides', () => {
    for (const type of ['job_acked', 'job_rejected', 'job_started', 'job_heartbeat', 'step_status', 'job_finished', 'job_logs', 'agent_lost', 'agent_back', 'agent_restarted']) {
      expect(isAgentHostMessage({ type }), type).toBe(true);
    }
    for (const type of ['start', 'cancel', 'stale', 'recovery_expired', 'agent_unreachable', 'job_assigned', 'ack_timeout', 'workflow_timeout', 'queue_timeout']) {
      expect(isAgentHostMessage({ type }), type).toBe(false);
    }
    for (const odd of [null, undefined, 'cancel', 42, {}, { type: 7 }]) expect(isAgentHostMessage(odd)).toBe(false);
  });
});
