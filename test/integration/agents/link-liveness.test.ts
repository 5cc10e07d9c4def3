import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { OrchestratorRig, type GitOrigin, type RawAgent } from '../server/orchestrator-rig.js';

/**
 * The orchestrator's side of an agent link over real `ws` sockets: a WebSocket ping is a sign of
 * life (an idle agent only pings), and a stall of the orchestrator's event loop longer than a
 * deadline closes no agent whose frames were waiting in its socket.
 */

const HEARTBEAT_TIMEOUT_MS = 2_000;

/** Ping and wait for the pong: once it is back, the orchestrator has handled the ping. */
async function pingPong(agent: RawAgent): Promise<void> {
  const pong = new Promise<void>((resolve) => agent.ws.once('pong', () => resolve()));
  const closed = agent.closed.then((c) => Promise.reject(new Error(`closed (${c.code} ${c.reason}) while waiting for a pong`)));
  agent.ws.ping();
  await Promise.race([pong, closed]);
}

/** Block this process's event loop, as a long synchronous task or a GC pause of the orchestrator does. */
function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
}

describe('agent pings count as signs of life', () => {
  let rig: OrchestratorRig;
  let clock: ManualClock;
  let token: string;

  beforeAll(async () => {
    clock = new ManualClock(Date.now());
    rig = await OrchestratorRig.start({ KICI_AGENT_HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS) }, { clock });
    token = await rig.agentToken();
  });
  afterAll(() => rig?.close());

  it('keeps an agent that only pings open past the heartbeat timeout, and closes a silent one (4004)', async () => {
    const pinger = await rig.connectAgent('agent-pinger', token);
    const quiet = await rig.connectAgent('agent-quiet', token);
    // Three timeouts, the pinger pinging every quarter of one (as kici-agent does on a quiet link).
    for (let elapsed = 0; elapsed < 3 * HEARTBEAT_TIMEOUT_MS; elapsed += HEARTBEAT_TIMEOUT_MS / 4) {
      clock.advance(HEARTBEAT_TIMEOUT_MS / 4);
      await pingPong(pinger);
    }
    expect((await quiet.closed).code).toBe(4004);
    expect(pinger.isOpen).toBe(true);
    pinger.close();
  });
});

describe('an event-loop stall of the orchestrator', () => {
  let rig: OrchestratorRig;
  let token: string;
  let source: GitOrigin;

  beforeAll(async () => {
    // A heartbeat timeout of 2 s: the agents share this process, and a busy machine can hold its
    // event loop for a second on its own; the stalls below are what must not close them.
    rig = await OrchestratorRig.start({ KICI_AGENT_HEARTBEAT_TIMEOUT_MS: '2000', KICI_DISPATCH_ACK_TIMEOUT_MS: '1000' });
    token = await rig.agentToken();
    // Made before any agent connects: its git commands block this process, agents included (they
    // share it with the orchestrator here), longer than the heartbeat timeout may allow.
    source = await rig.gitSource(undefined, 'stall-repo');
  });
  afterAll(() => rig?.close());

  it('longer than the heartbeat timeout closes only the agent that sent nothing meanwhile', async () => {
    const pinger = await rig.connectAgent('agent-stall-pinger', token);
    // Keep the pinger alive before and after the stall, as kici-agent would.
    const keepAlive = setInterval(() => pinger.ws.ping(), 100);
    try {
      const quiet = await rig.connectAgent('agent-stall-quiet', token);
      await pingPong(pinger);
      // The ping goes into the orchestrator's socket, then its event loop stalls for 2.5 timeouts.
      pinger.ws.ping();
      stall(5_000);
      expect((await quiet.closed).code).toBe(4004);
      await pingPong(pinger);
      expect(pinger.isOpen).toBe(true);
    } finally {
      clearInterval(keepAlive);
      pinger.close();
    }
  });

  it('longer than the dispatch ack timeout does not close an agent whose ack was waiting in its socket (4031)', async () => {
    const agent = await rig.connectAgent('agent-stall-acker', token);
    const keepAlive = setInterval(() => agent.ws.ping(), 100);
    try {
      expect((await rig.push(source, 'stall-1')).status).toBe(202);
      const dispatch = await agent.next('job.dispatch');
      // The ack is written at once; the orchestrator reads it only after its ack deadline is past.
      agent.send({ type: 'job.ack', runId: dispatch.runId, jobId: dispatch.jobId });
      stall(1_500);
      // Let the deadline be handled, whatever the run then does with the job, and ask the link.
      const outcome = await Promise.race([agent.closed, new Promise((resolve) => setTimeout(() => resolve('open'), 1_000))]);
      expect(outcome).toBe('open');
      await pingPong(agent);
    } finally {
      clearInterval(keepAlive);
      agent.close();
    }
  });
});
