import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './cli.js';

let tmp: string;
/** An empty data directory and an unreachable URL: these commands must not need an orchestrator. */
const admin = (argv: string[]) => cli(['--data-dir', path.join(tmp, 'no-orchestrator'), '--url', 'http://127.0.0.1:9', ...argv]);

const valid = {
  schemaVersion: 1,
  workflows: [{ name: 'ci', triggers: [{ _type: 'push', branches: ['main'] }], jobs: [{ name: 'build', steps: [{ name: 'make', run: 'make' }] }] }],
};

function file(name: string, content: string): string {
  const p = path.join(tmp, name);
  writeFileSync(p, content);
  return p;
}

beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'kici-admin-schemas-'));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('kici-admin lockfile schema', () => {
  it('prints a JSON Schema of the lock file', async () => {
    const r = await admin(['lockfile', 'schema']);
    expect(r.code, r.err).toBe(0);
    const schema = JSON.parse(r.out) as { $schema?: string; type?: string; properties?: Record<string, unknown>; required?: string[] };
    expect(schema.$schema).toMatch(/json-schema\.org/);
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties ?? {})).toEqual(expect.arrayContaining(['schemaVersion', 'workflows']));
    expect(r.out).toContain('generic_webhook');
  });
});

describe('kici-admin lockfile check', () => {
  it('says ok and exits 0 for a valid lock file', async () => {
    const r = await admin(['lockfile', 'check', file('good.json', JSON.stringify(valid))]);
    expect(r).toEqual({ code: 0, out: 'ok\n', err: '' });
  });

  it('exits 1 naming the field path when the schema fails', async () => {
    const broken = structuredClone(valid) as { workflows: { jobs: { steps: Record<string, unknown>[] }[] }[] };
    delete broken.workflows[0].jobs[0].steps[0].run;
    const p = file('missing-run.json', JSON.stringify(broken));
    const r = await admin(['lockfile', 'check', p]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain(p);
    expect(r.err).toContain('workflows[0].jobs[0].steps[0].run');
  });

  it('exits 1 for an unknown field, an unsupported version and text that is not JSON', async () => {
    const typo = structuredClone(valid) as { workflows: Record<string, unknown>[] };
    typo.workflows[0].trigers = [];
    const cases: [string, RegExp][] = [
      [file('typo.json', JSON.stringify(typo)), /workflows\[0\]\.trigers: unknown field/],
      [file('v9.json', JSON.stringify({ ...valid, schemaVersion: 9 })), /schemaVersion: unsupported version 9/],
      [file('not-json.json', '{ "schemaVersion": 1,'), /not valid JSON/],
    ];
    for (const [p, message] of cases) {
      const r = await admin(['lockfile', 'check', p]);
      expect(r.code, p).toBe(1);
      expect(r.err).toMatch(message);
    }
  });

  it('with --json prints the verdict as an object', async () => {
    const good = await admin(['lockfile', 'check', file('good2.json', JSON.stringify(valid)), '--json']);
    expect(JSON.parse(good.out)).toEqual({ ok: true, workflows: ['ci'] });
    const bad = await admin(['lockfile', 'check', file('bad2.json', '{}'), '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out)).toMatchObject({ ok: false, error: 'schemaVersion: required' });
  });

  it('exits 2 when the file cannot be read or is not given', async () => {
    const missing = await admin(['lockfile', 'check', path.join(tmp, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read .*nope\.json: ENOENT/);
    expect((await admin(['lockfile', 'check', tmp])).code).toBe(2);
    expect((await admin(['lockfile', 'check'])).code).toBe(2);
  });
});

describe('kici-admin protocol schema', () => {
  it('prints both directions of the agent protocol as JSON Schema, with the close codes', async () => {
    const r = await admin(['protocol', 'schema']);
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out) as {
      protocolVersion: number;
      closeCodes: Record<string, number>;
      agentToOrchestrator: Record<string, unknown>;
      orchestratorToAgent: Record<string, unknown>;
    };
    expect(doc.protocolVersion).toBeGreaterThanOrEqual(1);
    expect(doc.closeCodes.invalidMessage).toBe(4003);
    const fromAgent = JSON.stringify(doc.agentToOrchestrator);
    const toAgent = JSON.stringify(doc.orchestratorToAgent);
    for (const name of ['auth.request', 'agent.register', 'job.ack', 'job.reject', 'job.status', 'step.status', 'log.chunk', 'job.heartbeat']) {
      expect(fromAgent, name).toContain(`"${name}"`);
    }
    for (const name of ['register.ack', 'job.dispatch', 'job.cancel']) expect(toAgent, name).toContain(`"${name}"`);
  });
});
