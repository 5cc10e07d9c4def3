/**
 * GitHub sources in the store (migration 017): one live source per App id in the whole
 * orchestrator, found by it whatever the organisation; a soft-deleted one frees the App; only
 * GitHub rows carry an App id, and every GitHub row does.
 */
import { expect, it } from 'vitest';
import { describeOnBothDrivers, uniqueOrg } from '../../support/store-drivers.js';

let n = 0;
const appId = () => String(7_000_000 + process.pid * 100 + ++n);
const NOW = new Date('2026-01-01T00:00:00Z');

describeOnBothDrivers('GitHub sources', (store) => {
  it('finds the live source of an App, refuses a second one, and frees the App when it is removed', async () => {
    const s = store();
    const app = appId();
    const org = uniqueOrg();
    const first = await s.sources.create({ orgId: org, kind: 'github', name: org, verification: 'hmac_sha256', appId: app });
    expect(first.appId).toBe(app);
    expect(await s.sources.findGithubApp(app)).toMatchObject({ id: first.id, orgId: org, kind: 'github' });
    await expect(s.sources.create({ orgId: uniqueOrg(), kind: 'github', name: 'other', verification: 'hmac_sha256', appId: app })).rejects.toMatchObject({ code: '23505' });
    expect(await s.sources.delete(first.id, NOW)).toBe(true);
    expect(await s.sources.findGithubApp(app)).toBeNull();
    const again = await s.sources.create({ orgId: org, kind: 'github', name: org, verification: 'hmac_sha256', appId: app });
    expect((await s.sources.findGithubApp(app))?.id).toBe(again.id);
  });

  it('refuses a GitHub row without an App id, another kind with one, and an id that is not a number', async () => {
    const s = store();
    const org = uniqueOrg();
    await expect(s.sources.create({ orgId: org, kind: 'github', name: 'no-app', verification: 'hmac_sha256' })).rejects.toMatchObject({ code: '23514' });
    await expect(s.sources.create({ orgId: org, kind: 'git', name: 'git-app', url: 'file:///x', verification: 'hmac_sha256', appId: appId() })).rejects.toMatchObject({ code: '23514' });
    await expect(s.sources.create({ orgId: org, kind: 'github', name: 'bad', verification: 'hmac_sha256', appId: '12ab' })).rejects.toMatchObject({ code: '23514' });
    const git = await s.sources.create({ orgId: org, kind: 'git', name: 'git', url: 'file:///x', verification: 'hmac_sha256' });
    expect(git.appId).toBeNull();
  });
});
