/**
 * A default-branch push whose lock file registers what is already recorded moves only the
 * recorded commit (one UPDATE); a changed list, another node's write in between, or a list with
 * nothing to register is written in full. Generic deliveries always find the newest push's sha.
 */
import { expect, it } from 'vitest';
import { WorkflowRegistrations } from '../../../src/deliveries/workflow-registrations.js';
import type { RegistrationRepository, Store } from '../../../src/store/index.js';
import { parseLockfile, type Lockfile } from '../../../src/workflows/index.js';
import { describeOnBothDrivers, uniqueOrg } from '../../support/store-drivers.js';

const T0 = Date.parse('2026-04-01T00:00:00Z');
const at = (n: number) => new Date(T0 + n * 1000);
const sha = (n: number) => String(n).repeat(40).slice(0, 40);

/** A lock file with `deploy` (webhook-triggered, so registered) and `ci` (push only, not registered). */
function lockfile(deployCommand: string, registered = true): Lockfile {
  const deployTriggers = registered ? [{ _type: 'generic_webhook', source: 'hook', events: ['deploy'] }] : [{ _type: 'push' }];
  const parsed = parseLockfile(
    JSON.stringify({
      schemaVersion: 1,
      workflows: [
        { name: 'ci', triggers: [{ _type: 'push' }], jobs: [{ name: 'test', steps: [{ run: 'true' }] }] },
        { name: 'deploy', triggers: deployTriggers, jobs: [{ name: 'ship', steps: [{ run: deployCommand }] }] },
      ],
    }),
  );
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.lockfile;
}

/** The store's repository, with each write it is asked for noted. */
function counted(store: Store): { repo: Pick<RegistrationRepository, 'replace' | 'advance'>; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    repo: {
      replace: (...args) => (calls.push('replace'), store.registrations.replace(...args)),
      advance: (...args) => (calls.push('advance'), store.registrations.advance(...args)),
    },
  };
}

describeOnBothDrivers('workflow registrations of default-branch pushes', (store) => {
  async function gitSource(): Promise<string> {
    return (await store().sources.create({ orgId: uniqueOrg(), kind: 'git', name: 'repo', url: 'file:///nowhere', verification: 'hmac_sha256' })).id;
  }
  const recorded = async (sourceId: string) =>
    (await store().registrations.list(sourceId)).map((r) => ({ name: r.workflowName, sha: r.sha, run: (r.lockfile as Lockfile['workflows'][number]).jobs[0]!.steps[0]!.run }));

  it('moves only the sha when the registered workflows are unchanged, and rewrites them when they change', async () => {
    const sourceId = await gitSource();
    const { repo, calls } = counted(store());
    const registrations = new WorkflowRegistrations(repo);

    await registrations.register(sourceId, sha(1), lockfile('./ship v1'), at(1));
    // A later push that changed code only: the lock file is parsed anew (another object), same content.
    await registrations.register(sourceId, sha(2), lockfile('./ship v1'), at(2));
    expect(calls).toEqual(['replace', 'advance']);
    expect(await recorded(sourceId)).toEqual([{ name: 'deploy', sha: sha(2), run: './ship v1' }]);
    expect((await store().registrations.get(sourceId, 'deploy'))?.registeredAt).toEqual(at(2));

    await registrations.register(sourceId, sha(3), lockfile('./ship v2'), at(3));
    expect(calls).toEqual(['replace', 'advance', 'replace']);
    expect(await recorded(sourceId)).toEqual([{ name: 'deploy', sha: sha(3), run: './ship v2' }]);
  });

  it('writes in full when another node replaced the rows since this node last wrote them', async () => {
    const sourceId = await gitSource();
    const here = counted(store());
    const node = new WorkflowRegistrations(here.repo);
    const otherNode = new WorkflowRegistrations(store().registrations);

    await node.register(sourceId, sha(1), lockfile('./ship v2'), at(1));
    await otherNode.register(sourceId, sha(2), lockfile('./ship v1'), at(2));
    // This node remembers v2 at sha 1; the rows are v1 at sha 2, so moving the sha would be wrong.
    await node.register(sourceId, sha(3), lockfile('./ship v2'), at(3));
    expect(here.calls).toEqual(['replace', 'advance', 'replace']);
    expect(await recorded(sourceId)).toEqual([{ name: 'deploy', sha: sha(3), run: './ship v2' }]);
  });

  it('deletes every registration when the lock file registers nothing, each time', async () => {
    const sourceId = await gitSource();
    const { repo, calls } = counted(store());
    const registrations = new WorkflowRegistrations(repo);
    await registrations.register(sourceId, sha(1), lockfile('./ship'), at(1));
    await registrations.register(sourceId, sha(2), lockfile('./ship', false), at(2));
    expect(await recorded(sourceId)).toEqual([]);
    // Another node registers again; nothing in this node's memory may keep the next push from clearing it.
    await new WorkflowRegistrations(store().registrations).register(sourceId, sha(3), lockfile('./ship'), at(3));
    await registrations.register(sourceId, sha(4), lockfile('./ship', false), at(4));
    expect(calls).toEqual(['replace', 'replace', 'replace']);
    expect(await recorded(sourceId)).toEqual([]);
  });
});
