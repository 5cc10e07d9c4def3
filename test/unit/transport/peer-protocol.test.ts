/**
 * The peer protocol's codec: MessagePack frames validated after decoding, against the envelope
 * schemas and the schema of each kind; refusals say what was wrong without echoing what was sent,
 * and nothing a peer can send makes decode throw.
 */
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SeededRandom } from '../../../src/clock/index.js';
import {
  PEER_PROTOCOL_VERSION,
  PeerCloseCode,
  peerCloseCodeName,
  PeerCodec,
  PeerFrameTooLargeError,
  PeerKinds,
  type PeerFrame,
} from '../../../src/transport/index.js';

function setup(maxFrameBytes?: number) {
  const kinds = new PeerKinds();
  const raft = kinds.message('raft', z.strictObject({ term: z.number().int(), data: z.instanceof(Uint8Array).optional() }));
  const vote = kinds.request('vote', z.strictObject({ term: z.number().int() }), z.strictObject({ granted: z.boolean() }));
  return { kinds, raft, vote, codec: new PeerCodec({ kinds, maxFrameBytes }) };
}

const plain = new Packr({ useRecords: false });

describe('peer codec', () => {
  const frames: PeerFrame[] = [
    { type: 'hello', protocolVersion: PEER_PROTOCOL_VERSION, clusterId: 'alpha', nodeId: 'node-a', role: 'coordinator' },
    { type: 'message', kind: 'raft', body: { term: 3 } },
    { type: 'request', id: 7, kind: 'vote', timeoutMs: 500, body: { term: 3 } },
    { type: 'response', id: 7, kind: 'vote', ok: true, body: { granted: true } },
    { type: 'response', id: 8, kind: 'vote', ok: false, error: { code: 'not_leader', message: 'ask node-b' } },
    { type: 'ping', nonce: 1 },
    { type: 'pong', nonce: 0xffff_ffff },
  ];

  it('round-trips every frame type', () => {
    const { codec } = setup();
    for (const frame of frames) expect(codec.decode(codec.encode(frame))).toEqual({ ok: true, frame });
  });

  it('carries binary bodies as bytes', () => {
    const { codec } = setup();
    const data = new Uint8Array([0, 1, 2, 254, 255]);
    const decoded = codec.decode(codec.encode({ type: 'message', kind: 'raft', body: { term: 1, data } }));
    expect(decoded.ok && (decoded.frame as { body: { data: Uint8Array } }).body.data).toEqual(Buffer.from(data));
  });

  it('frames encoded one after another stay independent', () => {
    const { codec } = setup();
    const first = codec.encode(frames[1]!);
    const second = codec.encode(frames[2]!);
    expect(codec.decode(first)).toEqual({ ok: true, frame: frames[1] });
    expect(codec.decode(second)).toEqual({ ok: true, frame: frames[2] });
  });

  it('validates the body against the schema its kind registered', () => {
    const { codec } = setup();
    expect(codec.decode(plain.pack({ type: 'message', kind: 'raft', body: { term: 'three' } }))).toEqual({ ok: false, error: expect.stringMatching(/^body of message "raft": term: /) });
    expect(codec.decode(plain.pack({ type: 'request', id: 1, kind: 'vote', timeoutMs: 10, body: {} }))).toMatchObject({ ok: false, error: expect.stringMatching(/body of request "vote"/) });
    expect(codec.decode(plain.pack({ type: 'response', id: 1, kind: 'vote', ok: true, body: { granted: 'yes' } }))).toMatchObject({ ok: false, error: expect.stringMatching(/body of response "vote"/) });
  });

  it('refuses kinds this node never registered, and a message sent as a request kind', () => {
    const { codec } = setup();
    expect(codec.decode(plain.pack({ type: 'message', kind: 'actor', body: {} }))).toEqual({ ok: false, error: 'unknown message kind "actor"' });
    expect(codec.decode(plain.pack({ type: 'message', kind: 'vote', body: { term: 1 } }))).toEqual({ ok: false, error: 'unknown message kind "vote"' });
    expect(codec.decode(plain.pack({ type: 'request', id: 1, kind: 'raft', timeoutMs: 10, body: { term: 1 } }))).toEqual({ ok: false, error: 'unknown request kind "raft"' });
  });

  it('refuses envelopes that are not exactly a frame', () => {
    const { codec } = setup();
    const bad = [
      { type: 'ping', nonce: 1, extra: 1 },
      { type: 'ping', nonce: -1 },
      { type: 'ping' },
      { type: 'request', id: 1.5, kind: 'vote', timeoutMs: 10, body: { term: 1 } },
      { type: 'request', id: 1, kind: 'vote', timeoutMs: 0, body: { term: 1 } },
      { type: 'response', id: 1, kind: 'vote', ok: true, error: { code: 'x', message: '' } },
      { type: 'response', id: 1, kind: 'vote', ok: false, body: {} },
      { type: 'hello', protocolVersion: 1, clusterId: 'alpha', nodeId: 'a/b', role: 'coordinator' },
      { type: 'hello', protocolVersion: 1, clusterId: 'alpha', nodeId: 'a', role: 'king' },
      { type: 'message', kind: 'Raft!', body: {} },
      [1, 2, 3],
      'hello',
      42,
      null,
    ];
    for (const value of bad) expect(codec.decode(plain.pack(value)), JSON.stringify(value)).toMatchObject({ ok: false });
  });

  it('refuses garbage, truncation, trailing bytes and deep nesting without throwing', () => {
    const { codec } = setup();
    const good = codec.encode(frames[1]!);
    expect(codec.decode(new Uint8Array())).toEqual({ ok: false, error: 'empty frame' });
    expect(codec.decode(good.subarray(0, good.length - 2))).toEqual({ ok: false, error: 'frame is not one MessagePack value' });
    expect(codec.decode(Buffer.concat([good, Buffer.from([0x01])]))).toEqual({ ok: false, error: 'frame is not one MessagePack value' });
    expect(codec.decode(Buffer.from([0xd4, 0x05, 0x00]))).toEqual({ ok: false, error: 'frame is not one MessagePack value' });
    expect(codec.decode(Buffer.alloc(200_000, 0x91))).toMatchObject({ ok: false });
    const random = new SeededRandom(11);
    for (let i = 0; i < 2_000; i++) {
      const bytes = Buffer.from(Array.from({ length: random.int(1, 64) }, () => random.int(0, 255)));
      expect(() => codec.decode(bytes)).not.toThrow();
      expect(codec.decode(bytes).ok).toBe(false);
    }
  });

  it('a key named __proto__ cannot reach a prototype', () => {
    const { codec } = setup();
    const sneaky = Buffer.concat([Buffer.from([0x83]), plain.pack('type'), plain.pack('ping'), plain.pack('nonce'), plain.pack(1), plain.pack('__proto__'), plain.pack({ polluted: true })]);
    codec.decode(sneaky);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('never echoes what was sent in an error', () => {
    const { codec } = setup();
    const result = codec.decode(plain.pack({ type: 'message', kind: 'raft', body: { term: 'sk_live_secret_value' } }));
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('sk_live_secret_value');
    const trailing = codec.decode(Buffer.concat([plain.pack({ token: 'sk_live_secret_value' }), Buffer.from([0x01])]));
    expect(JSON.stringify(trailing)).not.toContain('sk_live_secret_value');
  });

  it('refuses oversize frames both ways: before parsing on decode, with a typed error on encode', () => {
    const { codec } = setup(256);
    expect(codec.decode(Buffer.alloc(257))).toEqual({ ok: false, error: 'frame of 257 bytes is over the 256-byte cap' });
    const big = { type: 'message', kind: 'raft', body: { term: 1, data: new Uint8Array(300) } } as const;
    expect(() => codec.encode(big)).toThrow(PeerFrameTooLargeError);
  });
});

describe('peer kinds', () => {
  it('registers each name once, as a message or a request', () => {
    const kinds = new PeerKinds();
    kinds.message('raft', z.object({}));
    expect(() => kinds.message('raft', z.object({}))).toThrow(/already registered/);
    expect(() => kinds.request('raft', z.object({}), z.object({}))).toThrow(/already registered/);
    expect(() => kinds.message('Raft', z.object({}))).toThrow(/lowercase/);
    expect(kinds.names).toEqual(['raft']);
  });

  it('knows its own handles from look-alikes', () => {
    const kinds = new PeerKinds();
    const mine = kinds.message('raft', z.object({}));
    const other = new PeerKinds().message('raft', z.object({}));
    expect(kinds.owns(mine)).toBe(true);
    expect(kinds.owns(other)).toBe(false);
  });
});

describe('peer close codes', () => {
  it('are distinct, in 4100–4199 where they are ours, and named', () => {
    const values = Object.values(PeerCloseCode);
    expect(new Set(values).size).toBe(values.length);
    for (const value of values) expect(value < 4000 || (value >= 4100 && value < 4200)).toBe(true);
    expect(peerCloseCodeName(4103)).toBe('revoked');
    expect(peerCloseCodeName(4999)).toBeUndefined();
  });
});
