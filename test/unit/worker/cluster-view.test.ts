/**
 * What an edge worker knows of its cluster: the view the coordinators send, kept on disk (0600) so
 * a restarted worker reads it back; agent tokens checked against the hashes in it (with their labels
 * and slot caps), expiry judged by the injected clock; coordinator certificates trusted only as the view records them.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NodeIdentity } from '../../../src/certificates/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import { hashToken } from '../../../src/secrets/index.js';
import { agentTokenAnswer, workerViewBody, type WorkerViewBody } from '../../../src/transport/index.js';
import { ClusterView } from '../../../src/worker/index.js';

let root: string;
let file: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'kici-cluster-view-'));
  file = join(root, 'cluster-view.json');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const NOW = 1_700_000_000_000;
const TOKEN = 'kici_agent_valid-token-0001';
const EXPIRING = 'kici_agent_expiring-token-0002';

function view(overrides: Partial<WorkerViewBody> = {}): WorkerViewBody {
  return {
    members: [
      { node: 'c1', address: '10.0.0.1:7443', role: 'coordinator', serial: 'a1' },
      { node: 'c2', address: '10.0.0.2:7443', role: 'coordinator', serial: 'b2' },
      { node: 'w1', address: '', role: 'worker', serial: 'c3' },
    ],
    revokedSerials: ['dead01'],
    shards: [
      { shard: 0, node: 'c1', epoch: 3 },
      { shard: 1, node: 'c2', epoch: 5 },
    ],
    agentTokens: [
      { id: 'tok-1', hash: hashToken(TOKEN), labels: ['os:linux', 'arch:x64'], maxConcurrency: 25, expiresAt: null },
      { id: 'tok-2', hash: hashToken(EXPIRING), labels: null, maxConcurrency: null, expiresAt: NOW + 60_000 },
    ],
    ...overrides,
  };
}

function identity(nodeId: string, role: 'coordinator' | 'worker', serial: string): NodeIdentity {
  return { clusterId: 'alpha', nodeId, role, serial, notAfter: new Date(NOW + 86_400_000) };
}

describe('ClusterView: kept on disk', () => {
  it('writes an applied view (0600) and a new instance on the same file reads it back', () => {
    const clock = new ManualClock(NOW);
    const first = new ClusterView(file, clock);
    expect(first.hasView).toBe(false);
    expect(first.apply(view())).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(view());
    expect(existsSync(`${file}.tmp`)).toBe(false);

    // A restarted worker, every coordinator out of reach.
    const second = new ClusterView(file, clock);
    expect(second.hasView).toBe(false);
    expect(second.load()).toEqual({ loaded: true });
    expect(second.hasView).toBe(true);
    expect(second.coordinators()).toEqual([
      { node: 'c1', address: '10.0.0.1:7443', role: 'coordinator' },
      { node: 'c2', address: '10.0.0.2:7443', role: 'coordinator' },
    ]);
    expect(second.revokedSerials()).toEqual(['dead01']);
    expect(second.shards.ownerOf(0)).toEqual({ node: 'c1', epoch: 3 });
    expect(second.shards.ownerOf(1)).toEqual({ node: 'c2', epoch: 5 });
    expect(second.shards.ownerOf(2)).toBeUndefined();
    expect(second.grantFor(TOKEN)).toEqual({ tokenId: 'tok-1', labels: ['os:linux', 'arch:x64'], maxConcurrency: 25 });
    expect(second.grantFor(EXPIRING)).toEqual({ tokenId: 'tok-2', labels: null, maxConcurrency: null });
  });

  it('does not rewrite the file for the same view, and does for a changed one', () => {
    const clock = new ManualClock(NOW);
    const v = new ClusterView(file, clock);
    expect(v.apply(view())).toBe(true);
    rmSync(file);
    expect(v.apply(view())).toBe(false);
    expect(existsSync(file)).toBe(false);

    const moved = view({ shards: [{ shard: 0, node: 'c2', epoch: 4 }] });
    expect(v.apply(moved)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(moved);
    expect(v.shards.ownerOf(0)).toEqual({ node: 'c2', epoch: 4 });
  });

  it('treats a view read back from disk as the one it has: the same view again is not rewritten', () => {
    const clock = new ManualClock(NOW);
    new ClusterView(file, clock).apply(view());
    const restarted = new ClusterView(file, clock);
    restarted.load();
    rmSync(file);
    expect(restarted.apply(view())).toBe(false);
    expect(existsSync(file)).toBe(false);
  });

  it('is an empty view without a file, and says nothing is wrong', () => {
    const v = new ClusterView(file, new ManualClock(NOW));
    expect(v.load()).toEqual({ loaded: false });
    expect(v.coordinators()).toEqual([]);
    expect(v.hasView).toBe(false);
  });

  it('reports a file that is not JSON and stays empty', () => {
    writeFileSync(file, '{"members": [ {"node": "c1", ', { mode: 0o600 });
    const v = new ClusterView(file, new ManualClock(NOW));
    const loaded = v.load();
    expect(loaded.loaded).toBe(false);
    expect(loaded.problem).toContain('is not JSON');
    expect(loaded.problem).toContain(file);
    expect(v.hasView).toBe(false);
    expect(v.coordinators()).toEqual([]);
    expect(v.shards.ownerOf(0)).toBeUndefined();
    expect(v.grantFor(TOKEN)).toBeNull();
    // Before any view, the CA's word stands.
    expect(v.trusts(identity('c9', 'coordinator', 'ff'))).toBe(true);
    // And the next coordinator's view replaces it.
    expect(v.apply(view())).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(view());
  });

  it('reports JSON that is not a cluster view and stays empty', () => {
    writeFileSync(file, JSON.stringify({ ...view(), members: [{ node: 'c1', address: 'x', role: 'boss', serial: 'a1' }] }));
    const v = new ClusterView(file, new ManualClock(NOW));
    const loaded = v.load();
    expect(loaded.loaded).toBe(false);
    expect(loaded.problem).toContain('does not hold a cluster view');
    expect(v.hasView).toBe(false);
    expect(v.shards.ownerOf(0)).toBeUndefined();
    expect(v.grantFor(TOKEN)).toBeNull();
  });
});

describe('ClusterView: members', () => {
  it('lists only coordinators with an address (workers are never dialled)', () => {
    const v = new ClusterView(file, new ManualClock(NOW));
    v.apply(
      view({
        members: [
          { node: 'w1', address: '', role: 'worker', serial: 'c3' },
          { node: 'c1', address: '10.0.0.1:7443', role: 'coordinator', serial: 'a1' },
          { node: 'w2', address: '', role: 'worker', serial: 'c4' },
        ],
      }),
    );
    expect(v.coordinators()).toEqual([{ node: 'c1', address: '10.0.0.1:7443', role: 'coordinator' }]);
  });
});

describe('ClusterView: agent tokens', () => {
  it('grants a token whose hash is in the view until it expires by the injected clock', () => {
    const clock = new ManualClock(NOW);
    const v = new ClusterView(file, clock);
    expect(v.grantFor(TOKEN)).toBeNull();
    v.apply(view());
    expect(v.grantFor(TOKEN)).toEqual({ tokenId: 'tok-1', labels: ['os:linux', 'arch:x64'], maxConcurrency: 25 });
    expect(v.grantFor(EXPIRING)).toEqual({ tokenId: 'tok-2', labels: null, maxConcurrency: null });
    clock.advance(59_999);
    expect(v.grantFor(EXPIRING)).toEqual({ tokenId: 'tok-2', labels: null, maxConcurrency: null });
    clock.advance(1);
    expect(v.grantFor(EXPIRING)).toBeNull();
    // A token without expiry stays valid.
    clock.advance(365 * 86_400_000);
    expect(v.grantFor(TOKEN)).not.toBeNull();
  });

  it('refuses an unknown token, the hash itself, and a token dropped from a newer view', () => {
    const v = new ClusterView(file, new ManualClock(NOW));
    v.apply(view());
    expect(v.grantFor('kici_agent_unknown')).toBeNull();
    expect(v.grantFor(hashToken(TOKEN))).toBeNull();
    expect(v.grantFor('')).toBeNull();
    v.apply(view({ agentTokens: [view().agentTokens[1]!] }));
    expect(v.grantFor(TOKEN)).toBeNull();
    expect(v.grantFor(EXPIRING)).not.toBeNull();
  });

  it("carries a token's slot cap on the wire: 1..10000, or null (absent from an earlier coordinator)", () => {
    const token = { id: 'tok-9', labels: null, expiresAt: null };
    expect(agentTokenAnswer.parse({ token: { ...token, maxConcurrency: 200 } }).token?.maxConcurrency).toBe(200);
    expect(agentTokenAnswer.parse({ token }).token?.maxConcurrency).toBeNull();
    expect(agentTokenAnswer.safeParse({ token: { ...token, maxConcurrency: 0 } }).success).toBe(false);
    expect(workerViewBody.safeParse(view({ agentTokens: [{ ...view().agentTokens[0]!, maxConcurrency: 10_001 }] })).success).toBe(false);
  });

  it('reads a view kept by a release before slot caps: its tokens get the default cap (null)', () => {
    const old = view();
    writeFileSync(file, JSON.stringify({ ...old, agentTokens: old.agentTokens.map(({ maxConcurrency: _, ...t }) => t) }));
    const v = new ClusterView(file, new ManualClock(NOW));
    expect(v.load()).toEqual({ loaded: true });
    expect(v.grantFor(TOKEN)).toEqual({ tokenId: 'tok-1', labels: ['os:linux', 'arch:x64'], maxConcurrency: null });
  });
});

describe('ClusterView: trusting certificates', () => {
  it('before any view trusts a coordinator certificate and never a worker one', () => {
    const v = new ClusterView(file, new ManualClock(NOW));
    expect(v.trusts(identity('c1', 'coordinator', 'a1'))).toBe(true);
    expect(v.trusts(identity('anyone', 'coordinator', '123'))).toBe(true);
    expect(v.trusts(identity('w1', 'worker', 'c3'))).toBe(false);
  });

  it('after a view trusts only a coordinator member with the serial the view records', () => {
    const v = new ClusterView(file, new ManualClock(NOW));
    v.apply(view());
    expect(v.trusts(identity('c1', 'coordinator', 'a1'))).toBe(true);
    expect(v.trusts(identity('c2', 'coordinator', 'b2'))).toBe(true);
    // A reissued or stolen certificate: right node, other serial.
    expect(v.trusts(identity('c1', 'coordinator', 'b2'))).toBe(false);
    // Not a member at all.
    expect(v.trusts(identity('c9', 'coordinator', 'a1'))).toBe(false);
    // A worker member, with its own recorded serial.
    expect(v.trusts(identity('w1', 'worker', 'c3'))).toBe(false);
  });

  it('follows a view that replaced a coordinator certificate', () => {
    const v = new ClusterView(file, new ManualClock(NOW));
    v.apply(view());
    v.apply(view({ members: [{ node: 'c1', address: '10.0.0.1:7443', role: 'coordinator', serial: 'a1f' }] }));
    expect(v.trusts(identity('c1', 'coordinator', 'a1'))).toBe(false);
    expect(v.trusts(identity('c1', 'coordinator', 'a1f'))).toBe(true);
    expect(v.trusts(identity('c2', 'coordinator', 'b2'))).toBe(false);
  });
});

describe('ClusterView and coordinators that lag', () => {
  it('keeps the newest view: one made at a lower applied index is ignored', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kici-view-lag-'));
    const view = new ClusterView(join(dir, 'cluster-view.json'), { now: () => 0 });
    const at = (appliedIndex: number, node: string) => ({ appliedIndex, members: [], revokedSerials: [], shards: [{ shard: 3, node, epoch: appliedIndex }], agentTokens: [] });
    expect(view.apply(at(10, 'node-b'))).toBe(true);
    expect(view.apply(at(7, 'node-a'))).toBe(false);
    expect(view.shards.ownerOf(3)).toEqual({ node: 'node-b', epoch: 10 });
    expect(view.apply(at(12, 'node-c'))).toBe(true);
    expect(view.shards.ownerOf(3)).toEqual({ node: 'node-c', epoch: 12 });
    rmSync(dir, { recursive: true, force: true });
  });
});
