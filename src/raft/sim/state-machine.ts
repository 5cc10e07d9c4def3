/**
 * The simulated application: its state is the digest of the applied sequence (SafetyChecker keeps
 * it), its snapshot is that digest padded to the size a real state would have, and a client
 * proposal is its id padded to the seed's payload size. The padding gives messages, segments and
 * snapshots realistic sizes, so bandwidth and disk costs show.
 */
import type { Entry } from '../types.js';

/** The snapshot of the application: the digest, then `padding` zero bytes. */
export function encodeDigest(d: number, padding = 0): Uint8Array {
  const out = new Uint8Array(4 + padding);
  out[0] = (d >>> 24) & 255;
  out[1] = (d >>> 16) & 255;
  out[2] = (d >>> 8) & 255;
  out[3] = d & 255;
  return out;
}

export function decodeDigest(data: Uint8Array): number {
  if (data.length < 4) return 0;
  return ((data[0] << 24) | (data[1] << 16) | (data[2] << 8) | data[3]) >>> 0;
}

/** A client proposal: the id's characters, then zeros up to `bytes` (ids hold no zero). */
export function proposalData(id: string, bytes = 0): Uint8Array {
  const data = new Uint8Array(Math.max(id.length, bytes));
  for (let i = 0; i < id.length; i++) data[i] = id.charCodeAt(i);
  return data;
}

/** Does the entry carry the client proposal `id`? (Another leader may have filled the index.) */
export function carries(e: Entry, id: string): boolean {
  if (e.type !== 'normal' || e.data.length < id.length) return false;
  for (let i = 0; i < id.length; i++) if (e.data[i] !== id.charCodeAt(i)) return false;
  return e.data.length === id.length || e.data[id.length] === 0;
}
