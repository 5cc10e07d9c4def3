import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../admin-surface/cli.js';
import { OrchestratorRig, sample, waitFor, type Frame, type GitOrigin } from './orchestrator-rig.js';

/**
 * A push whose lock file fails its schema: no workflow can be read, so nothing matched. It must be
 * counted as an error, not a match, and the event log must say why, read back over real HTTP.
 */
describe('a push with a corrupt lock file, in /metrics and the event log', () => {
  let rig: OrchestratorRig;
  let source: GitOrigin;
  let delivery: Frame;

  const broken = { schemaVersion: 1, workflows: [{ name: 'ci', triggers: [{ _type: 'push' }], jobs: [{ name: 'build', steps: [{ name: 'no-command' }] }] }] };

  beforeAll(async () => {
    rig = await OrchestratorRig.start();
    source = await rig.gitSource(broken, 'broken');
    expect((await rig.push(source, 'corrupt-1')).status).toBe(202);
    delivery = await waitFor('the delivery to be processed', async () => {
      const rows = (await rig.api('GET', `/event-log?sourceId=${source.id}`)).deliveries as Frame[];
      return rows[0]?.status === 'received' ? undefined : rows[0];
    });
  });
  afterAll(() => rig?.close());

  it('records lockfile_corrupt with nothing matched and a trace naming the bad field and the failed run', async () => {
    expect(delivery).toMatchObject({ status: 'lockfile_corrupt', matchedCount: 0 });
    const runs = ((await rig.api('GET', '/runs')).runs as Frame[]).filter((r) => r.deliveryId === delivery.id);
    expect(runs).toHaveLength(1);
    const summary = String((delivery.trace as { summary?: string }).summary);
    expect(summary).toContain('.kici/kici.lock.json');
    expect(summary).toContain('workflows[0].jobs[0].steps[0].run');
    expect(summary).toContain(runs[0].id as string);
  });

  it('counts it as kici_webhooks_processed_total{result="error"}, not matched', async () => {
    const m = await rig.metrics();
    expect(sample(m, 'kici_webhooks_processed_total', 'result="error"')).toBe(1);
    expect(sample(m, 'kici_webhooks_processed_total', 'result="matched"')).toBe(0);
    expect(sample(m, 'kici_webhooks_processed_total', 'result="skipped"')).toBe(0);
  });

  it('kici-admin event-log show prints the trace instead of "(none yet)"', async () => {
    const r = await cli(['--url', rig.url, '--token', rig.adminToken, 'event-log', 'show', delivery.id as string]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^status\s+lockfile_corrupt$/m);
    expect(r.out).toMatch(/^matchedCount\s+0$/m);
    expect(r.out).toMatch(/^trace: \.kici\/kici\.lock\.json at [0-9a-f]{40} is not a valid lock file/m);
    expect(r.out).not.toContain('(none yet)');
  });
});
