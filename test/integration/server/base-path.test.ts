import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '../../../src/webhooks/index.js';
import { OrchestratorRig, upgradeStatus, type GitOrigin } from './orchestrator-rig.js';

/** KICI_BASE_PATH=/orchestrator: every route lives under the prefix, `/ws` included, and nothing outside it. */
let rig: OrchestratorRig;
let origin: string;
let source: GitOrigin;

beforeAll(async () => {
  rig = await OrchestratorRig.start({ KICI_BASE_PATH: '/orchestrator' });
  origin = new URL(rig.url).origin;
  source = await rig.gitSource();
});

afterAll(async () => {
  await rig?.close();
});

const auth = () => ({ authorization: `Bearer ${rig.adminToken}` });

describe('KICI_BASE_PATH', () => {
  it('publishes its URL with the prefix', () => {
    expect(rig.url).toBe(`${origin}/orchestrator`);
  });

  it('serves /health, /ready and /metrics under the prefix, and not without it', async () => {
    for (const route of ['/health', '/ready', '/metrics']) {
      expect((await fetch(`${origin}/orchestrator${route}`)).status, route).toBe(200);
      expect((await fetch(`${origin}${route}`)).status, route).toBe(404);
    }
    expect((await fetch(`${origin}/orchestratorx/health`)).status).toBe(404);
  });

  it('serves the admin API under the prefix only', async () => {
    const listed = await fetch(`${origin}/orchestrator/api/v1/sources`, { headers: auth() });
    expect(listed.status).toBe(200);
    expect(JSON.stringify(await listed.json())).toContain(source.id);
    expect((await fetch(`${origin}/api/v1/sources`, { headers: auth() })).status).toBe(404);
  });

  it('takes webhooks under the prefix only', async () => {
    expect((await rig.push(source, 'prefixed-delivery')).status).toBe(202);
    const body = JSON.stringify({ ref: 'refs/heads/main', before: '0'.repeat(40), after: source.sha, repository: { name: 'repo', url: 'file:///repo' } });
    const bare = await fetch(`${origin}/webhook/acme/git/${source.id}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-delivery-id': 'bare-delivery', 'x-signature-256': signBody(source.secret, body) },
    });
    expect(bare.status).toBe(404);
  });

  it('accepts agents on /orchestrator/ws and refuses the bare /ws', async () => {
    const token = await rig.agentToken();
    const agent = await rig.connectAgent('agent-prefixed', token);
    expect(agent.frames.map((f) => f.type)).toEqual(expect.arrayContaining(['auth.success', 'register.ack']));
    agent.close();
    expect(await upgradeStatus(`${origin.replace(/^http/, 'ws')}/ws`)).toBe(404);
    expect(await upgradeStatus(`${origin.replace(/^http/, 'ws')}/orchestrator/ws`)).toBe(101);
  });
});
