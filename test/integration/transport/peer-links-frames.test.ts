/**
 * Validation at the edge: whatever a peer with a valid certificate sends after its hello —
 * garbage, a text frame, a frame over the cap, a body that fails its kind's schema, a kind nobody
 * registered — closes that link with a reason, and the node (this process) carries on.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClusterCa, NodeCredentials } from '../../../src/certificates/index.js';
import { PeerCloseCode } from '../../../src/transport/index.js';
import { allUp, cluster, credentials, helloOf, nextEvent, packed, rawPeer, rawReceived, rawTls, startNode, type TestNode } from './peer-links-fixture.js';

let ca: ClusterCa;
let nodeB: NodeCredentials;
beforeAll(async () => {
  ca = await cluster('alpha');
  nodeB = await credentials(ca, 'node-b');
});

/** A raw peer past its hello, as far as the node is concerned a healthy link. */
async function helloed(a: TestNode) {
  const peer = rawPeer(a.port, rawTls(nodeB));
  await peer.opened;
  peer.ws.send(helloOf(nodeB));
  await rawReceived(peer, (f) => (f as { type?: string }).type === 'hello');
  return peer;
}

describe('bad frames', () => {
  const cases: [string, (peer: ReturnType<typeof rawPeer>) => void, number, RegExp][] = [
    ['garbage bytes', (p) => p.ws.send(Buffer.from([0xc1, 0xff, 0x00, 0x13])), PeerCloseCode.invalidFrame, /not one MessagePack value/],
    ['an unknown MessagePack extension', (p) => p.ws.send(Buffer.from([0xd4, 0x05, 0x00])), PeerCloseCode.invalidFrame, /not one MessagePack value/],
    ['a text frame', (p) => p.ws.send('{"type":"message"}'), PeerCloseCode.invalidFrame, /text frame/],
    ['a frame of no known type', (p) => p.ws.send(packed({ type: 'gossip', body: 1 })), PeerCloseCode.invalidFrame, /frame: type/],
    ['a body that fails its kind\'s schema', (p) => p.ws.send(packed({ type: 'message', kind: 'note', body: { seq: 'one', text: 'x' } })), PeerCloseCode.invalidFrame, /body of message "note": seq/],
    ['a kind nobody registered', (p) => p.ws.send(packed({ type: 'message', kind: 'gossip', body: {} })), PeerCloseCode.invalidFrame, /unknown message kind "gossip"/],
    ['an envelope with a field too many', (p) => p.ws.send(packed({ type: 'ping', nonce: 1, extra: true })), PeerCloseCode.invalidFrame, /frame/],
    ['a second hello', (p) => p.ws.send(helloOf(nodeB)), PeerCloseCode.invalidFrame, /second hello/],
    ['a frame over the size cap', (p) => p.ws.send(Buffer.alloc(4096, 0x90)), PeerCloseCode.frameTooLarge, /over the size cap/],
  ];

  for (const [what, send, code, reason] of cases) {
    it(`${what} closes the link (${code}) and the node carries on`, async () => {
      const a = await startNode(ca, 'node-a', { maxFrameBytes: 1024 });
      const peer = await helloed(a);
      expect(a.links.isUp('node-b')).toBe(true);
      const down = nextEvent(a.links, 'peerDown');
      send(peer);
      const closed = await peer.closed;
      // ws refuses an oversize frame from its header and drops the socket; the peer may see only 1006.
      if (code === PeerCloseCode.frameTooLarge) expect([1006, code]).toContain(closed.code);
      else expect(closed.code).toBe(code);
      const event = await down;
      expect(event.code).toBe(code);
      expect(event.reason).toMatch(reason);
      if (code === PeerCloseCode.invalidFrame) expect(closed.reason).toMatch(reason);
      // The next peer is served as if nothing happened.
      const again = await helloed(a);
      expect(a.links.isUp('node-b')).toBe(true);
      again.ws.close();
    });
  }

  it('garbage in place of a hello is a failed authentication', async () => {
    const a = await startNode(ca, 'node-a');
    const refused = nextEvent(a.links, 'refused');
    const peer = rawPeer(a.port, rawTls(nodeB));
    await peer.opened;
    peer.ws.send(Buffer.from('not msgpack at all, really'));
    expect(await peer.closed).toMatchObject({ code: PeerCloseCode.invalidFrame, reason: expect.stringMatching(/^invalid hello/) });
    expect(await refused).toMatchObject({ reason: 'invalid-hello', nodeId: 'node-b' });
  });

  it('a close reason never echoes what the peer sent', async () => {
    const a = await startNode(ca, 'node-a');
    const peer = await helloed(a);
    peer.ws.send(packed({ type: 'message', kind: 'note', body: { seq: 1, text: 2, secret: 'hunter2-hunter2' } }));
    const closed = await peer.closed;
    expect(closed.code).toBe(PeerCloseCode.invalidFrame);
    expect(closed.reason).not.toContain('hunter2');
    expect(JSON.stringify(a.logs)).not.toContain('hunter2');
  });

  it('a node refuses to send a body that fails its schema, and frames over its own cap', async () => {
    const a = await startNode(ca, 'node-a', { maxFrameBytes: 1024 });
    const b = await startNode(ca, 'node-b');
    a.links.addPeer('node-b', b.address);
    await allUp(a.links, ['node-b']);
    expect(() => a.links.send('node-b', a.kinds.note, { seq: 'x' as unknown as number, text: '' })).toThrow(/message "note": seq/);
    expect(() => a.links.send('node-b', a.kinds.note, { seq: 1, text: 'z'.repeat(2000) })).toThrow(expect.objectContaining({ name: 'PeerFrameTooLargeError' }));
    expect(() => a.links.send('node-z', a.kinds.note, { seq: 1, text: '' })).toThrow(expect.objectContaining({ name: 'UnknownPeerError' }));
    expect(a.links.isUp('node-b')).toBe(true);
  });
});
