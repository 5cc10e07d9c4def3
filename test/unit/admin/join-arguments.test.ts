import { describe, expect, it } from 'vitest';
// Imported from the file itself: the checks run before any cluster is asked.
import { joinArguments } from '../../../src/admin/cli/membership.js';
import { UsageError } from '../../../src/admin/cli/secret-input.js';

const TOKEN = `kici1.${'ab'.repeat(32)}.0123456789abcdef.${'S'.repeat(43)}`;

describe('kici-admin join arguments', () => {
  it('joins as a coordinator by default, with an address', () => {
    expect(joinArguments({ token: TOKEN, peer: ['a:4001,b:4001'], address: ' me:4001 ' })).toEqual({ role: 'coordinator', token: TOKEN, peers: ['a:4001', 'b:4001'], address: 'me:4001', instanceId: undefined });
    expect(() => joinArguments({ token: TOKEN, peer: 'a:4001' })).toThrow(/^--address is required/);
  });

  it('joins as a worker without an address, and refuses one', () => {
    expect(joinArguments({ role: 'worker', token: TOKEN, peer: 'a:4001', instanceId: 'edge-1' })).toEqual({ role: 'worker', token: TOKEN, peers: ['a:4001'], instanceId: 'edge-1' });
    expect(() => joinArguments({ role: 'worker', token: TOKEN, peer: 'a:4001', address: 'me:4001' })).toThrow(/^--address is for coordinators: a worker is never dialled/);
    expect(() => joinArguments({ role: 'worker', token: TOKEN })).toThrow(/^--peer is required: the cluster port of a coordinator/);
  });

  it('refuses another role, and a token that is not one without quoting it', () => {
    expect(() => joinArguments({ role: 'edge', token: TOKEN, peer: 'a:4001' })).toThrow(UsageError);
    expect(() => joinArguments({ role: 'edge', token: TOKEN, peer: 'a:4001' })).toThrow('--role must be coordinator or worker');
    let message = '';
    try {
      joinArguments({ role: 'worker', token: 'hunter2-not-a-token', peer: 'a:4001' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe('--token must be a join token from `kici-admin peer create-token --role worker` (it starts with kici1.)');
  });
});
