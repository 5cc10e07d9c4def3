/**
 * The join exchange's schemas as they judge the roles: a coordinator names the address it is
 * dialled at, a worker (never dialled) names none and is listed among the members with ''.
 */
import { describe, expect, it } from 'vitest';
import { joinAccepted, joinRequest } from '../../../src/transport/index.js';
// joinMember is not re-exported: the schema is read from its file.
import { joinMember } from '../../../src/transport/peer-protocol/join.js';

const base = { token: 'kici1.x', nodeId: 'node-j', csr: '-----BEGIN CERTIFICATE REQUEST-----' };
const issues = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

describe('joinRequest', () => {
  it('takes a coordinator with its address, and a worker without one', () => {
    expect(joinRequest.safeParse({ ...base, role: 'coordinator', address: 'node-j:4001' }).success).toBe(true);
    expect(joinRequest.parse({ ...base, role: 'worker' })).toEqual({ ...base, role: 'worker' });
  });

  it('refuses a coordinator without an address', () => {
    const r = joinRequest.safeParse({ ...base, role: 'coordinator' });
    expect(issues(r)).toEqual([expect.stringMatching(/^address: a coordinator names the address/)]);
  });

  it('refuses a worker that names an address, and a bad address for either', () => {
    expect(issues(joinRequest.safeParse({ ...base, role: 'worker', address: 'edge:4001' }))).toEqual(['address: a worker is never dialled: it sends no address']);
    expect(joinRequest.safeParse({ ...base, role: 'coordinator', address: '' }).success).toBe(false);
    expect(joinRequest.safeParse({ ...base, role: 'worker', address: '' }).success).toBe(false);
    expect(joinRequest.safeParse({ ...base, role: 'coordinator', address: 'no-port' }).success).toBe(false);
  });

  it('keeps its other rules: strict, a known role, a node id', () => {
    expect(joinRequest.safeParse({ ...base, role: 'worker', extra: 1 }).success).toBe(false);
    expect(joinRequest.safeParse({ ...base, role: 'edge' }).success).toBe(false);
    expect(joinRequest.safeParse({ ...base, nodeId: 'a b', role: 'worker' }).success).toBe(false);
  });
});

describe('joinMember', () => {
  const member = { node: 'edge-1', raftId: 3, role: 'worker', standing: 'worker' } as const;

  it('lists a worker with the empty address, a coordinator only with a real one', () => {
    expect(joinMember.safeParse({ ...member, address: '' }).success).toBe(true);
    expect(joinMember.safeParse({ ...member, address: 'edge-1:4001' }).success).toBe(true);
    expect(issues(joinMember.safeParse({ ...member, role: 'coordinator', standing: 'voter', address: '' }))).toEqual([expect.stringMatching(/^address: only a worker has no address/)]);
    expect(joinMember.safeParse({ ...member, address: 'not an address' }).success).toBe(false);
  });

  it('a join answer for a worker carries no secrets and may list workers', () => {
    const answer = {
      clusterId: 'alpha',
      nodeId: 'edge-1',
      raftId: 3,
      certificate: 'c',
      caCertificate: 'ca',
      members: [
        { node: 'node-a', raftId: 1, address: 'node-a:4001', role: 'coordinator', standing: 'voter' },
        { ...member, address: '' },
      ],
    };
    expect(joinAccepted.parse(answer)).toEqual(answer);
  });
});
