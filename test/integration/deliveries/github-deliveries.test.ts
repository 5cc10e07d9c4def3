/**
 * GitHub deliveries in processing (issue 18): the lock file comes through the `github` port (the
 * GitHub API client). Without it, a delivery stays `received` with the reason in the
 * event log and is tried again when resumed; with it, the lock file at the pushed commit decides
 * what runs, and a missing one is `lockfile_missing`.
 */
import { pino } from 'pino';
import { beforeAll, expect, it } from 'vitest';
import { systemIds } from '../../../src/clock/index.js';
import { DeliveryProcessor, DeliveryRetryLater, retryDelayMs, GITHUB_API_NOT_WIRED, type GithubLockfileRequest, type GithubRepos } from '../../../src/deliveries/index.js';
import type { BlobStore, Source, Store } from '../../../src/store/index.js';
import { LockfileReader, type GitMirrors, type LockfileAt } from '../../../src/workflows/index.js';
import { describeOnBothDrivers, uniqueOrg } from '../../support/store-drivers.js';
import { EPOCH, metrics, T0 } from './processor-fixture.js';

const SHA = 'b'.repeat(40);
const headers = { 'content-type': 'application/json' };
const LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    { name: 'ci', triggers: [{ _type: 'push', branches: ['main'] }], jobs: [{ name: 'build', steps: [{ run: 'true' }] }] },
    { name: 'release', triggers: [{ _type: 'tag', patterns: ['v*'] }], jobs: [{ name: 'ship', steps: [{ run: 'true' }] }] },
  ],
};
const push = (ref = 'refs/heads/main') => ({ ref, before: 'a'.repeat(40), after: SHA, repository: { full_name: 'acme/app', default_branch: 'main' }, installation: { id: 77 }, commits: [] });

const unreachable = async (): Promise<never> => {
  throw new Error('these deliveries name their commit and filter no paths');
};

let seq = 0;
const appId = () => String(900_000 + ++seq + Math.floor(Math.random() * 1000) * 1000);

describeOnBothDrivers('GitHub deliveries in processing', (store) => {
  beforeAll(async () => {
    await store().shards.seed('node-a', EPOCH);
  });

  async function github(s: Store): Promise<{ orgId: string; source: Source }> {
    const orgId = uniqueOrg();
    const source = await s.sources.create({ orgId, kind: 'github', name: orgId, verification: 'hmac_sha256', appId: appId() });
    return { orgId, source };
  }

  let now = T0 + 60_000;

  function processor(s: Store, port?: GithubRepos['readAt']) {
    const started: string[] = [];
    const p = new DeliveryProcessor({
      store: { runs: s.runs, deliveries: s.deliveries, registrations: s.registrations, sources: s.sources, refTips: s.refTips },
      clock: { now: () => now },
      ids: systemIds,
      epochOf: () => EPOCH,
      start: (runId) => void started.push(runId),
      mirrors: {} as GitMirrors,
      lockfiles: new LockfileReader(),
      blobs: { put: async () => undefined } as unknown as BlobStore,
      sources: { source: (id) => s.sources.get(id), secret: async () => null },
      metrics,
      log: pino({ level: 'silent' }),
      github: port && { readAt: port, commitAt: unreachable, permission: unreachable, cloneUrl: unreachable, pullRequestFiles: unreachable },
    });
    return { processor: p, started };
  }

  async function deliver(p: DeliveryProcessor, s: Store, orgId: string, source: Source, payload: unknown, eventType = 'push'): Promise<string> {
    const deliveryId = `${orgId}-${++seq}`;
    const rawBody = Buffer.from(JSON.stringify(payload));
    await s.deliveries.record({ orgId, deliveryId, sourceId: source.id, sourceKind: 'github', eventType, headers, body: rawBody }, new Date(T0));
    p.accepted({ orgId, deliveryId, sourceId: source.id, eventType, headers, rawBody, payload });
    await p.idle();
    return deliveryId;
  }

  it('without the GitHub API, keeps the delivery received with the reason, and tries again when resumed', async () => {
    const s = store();
    const { orgId, source } = await github(s);
    const { processor: p, started } = processor(s);
    const id = await deliver(p, s, orgId, source, push());
    expect(await s.deliveries.get(orgId, id)).toMatchObject({ status: 'received', error: GITHUB_API_NOT_WIRED, processedAt: null });
    expect(started).toEqual([]);
    // Resumed later (the owner's sweep) by a node that has the client: processed from the same row.
    const reads: GithubLockfileRequest[] = [];
    const { processor: wired, started: startedNow } = processor(s, async (_s, r) => (reads.push(r), { kind: 'found', text: JSON.stringify(LOCKFILE) }));
    wired.enqueue({ orgId, deliveryId: id });
    await wired.idle();
    expect(reads).toEqual([{ repo: 'acme/app', sha: SHA, installationId: 77 }]);
    expect(await s.deliveries.get(orgId, id)).toMatchObject({ status: 'processed', matchedCount: 1 });
    expect(startedNow).toHaveLength(1);
  });

  it('with the port: a branch push runs the push workflow, a tag push the tag workflow, and a missing lock file runs nothing', async () => {
    const s = store();
    const { orgId, source } = await github(s);
    let lock: LockfileAt = { kind: 'found', text: JSON.stringify(LOCKFILE) };
    const { processor: p, started } = processor(s, async () => lock);
    const branch = await deliver(p, s, orgId, source, push());
    expect(await s.deliveries.get(orgId, branch)).toMatchObject({ status: 'processed', matchedCount: 1 });
    const [run] = await s.runs.listForDelivery(orgId, branch);
    expect(run).toMatchObject({ sourceId: source.id, sha: SHA, workflowName: 'ci', repoUrl: 'https://github.com/acme/app.git' });
    const tag = await deliver(p, s, orgId, source, push('refs/tags/v1.0.0'));
    expect(await s.deliveries.get(orgId, tag)).toMatchObject({ status: 'processed', matchedCount: 1 });
    expect(started).toHaveLength(2);
    lock = { kind: 'missing' };
    const missing = await deliver(p, s, orgId, source, push());
    expect(await s.deliveries.get(orgId, missing)).toMatchObject({ status: 'lockfile_missing', matchedCount: 0 });
  });

  it('a retryable API failure keeps the delivery received with its reason; an event that starts nothing is processed at once', async () => {
    const s = store();
    const { orgId, source } = await github(s);
    const { processor: p } = processor(s, async () => { throw new DeliveryRetryLater('GitHub answered 502; tried again later'); });
    const id = await deliver(p, s, orgId, source, push());
    expect(await s.deliveries.get(orgId, id)).toMatchObject({ status: 'received', error: 'GitHub answered 502; tried again later' });
    const ping = await deliver(p, s, orgId, source, { zen: 'hi' }, 'ping');
    expect(await s.deliveries.get(orgId, ping)).toMatchObject({ status: 'processed', matchedCount: 0, trace: { summary: expect.stringContaining('GitHub event ping starts nothing') } });
  });

  it('a delivery kept for a later try waits out a growing backoff before a resume takes it again', async () => {
    const s = store();
    const { orgId, source } = await github(s);
    let reads = 0;
    const { processor: p } = processor(s, async () => {
      reads++;
      throw new DeliveryRetryLater('GitHub GET contents: 502');
    });
    now = T0 + 60_000;
    const id = await deliver(p, s, orgId, source, push());
    expect(await s.deliveries.get(orgId, id)).toMatchObject({ status: 'received', attempts: 1, retryAfter: new Date(now + 30_000) });
    const resumeAt = async (at: number) => {
      now = at;
      const mine = (await s.deliveries.listReceived({ dueBy: new Date(now) })).some((d) => d.deliveryId === id);
      if (mine) p.enqueue({ orgId, deliveryId: id });
      await p.idle();
      return mine;
    };
    expect(await resumeAt(T0 + 60_000 + 29_999)).toBe(false);
    expect(reads).toBe(1);
    expect(await resumeAt(T0 + 60_000 + 30_000)).toBe(true);
    expect(reads).toBe(2);
    // The second failure doubles the wait.
    expect(await s.deliveries.get(orgId, id)).toMatchObject({ status: 'received', attempts: 2, retryAfter: new Date(now + 60_000) });
    expect(retryDelayMs(20)).toBe(15 * 60_000);
  });
});
