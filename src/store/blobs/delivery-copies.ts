/**
 * Gzipped copies of delivery bodies in object storage (`event-log/<orgId>/<deliveryId>.json.gz`).
 * The database row is the record that matters; this copy is written after the 202 and may be
 * omitted for large payloads.
 */
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzip as gzipCallback, gzipSync } from 'node:zlib';
import { type BlobStore, keySegment } from './blob-store.js';

// zlib's callback forms run on the libuv threadpool: a 5 MB body compressed with gzipSync would
// hold the event loop (and every webhook reply and dispatch behind it) for tens of milliseconds.
// But the handoff has a fixed cost: a 1.3 KB push payload takes ~40 µs of CPU compressed in place
// and ~200 µs through the pool. Bodies up to this size (~0.1 ms in place) are compressed in place.
// Same defaults either way, so the bytes stored are the same and old copies read back.
const IN_PLACE_MAX_BYTES = 8 * 1024;
const gzipPooled = promisify(gzipCallback);
const gunzip = promisify(gunzipCallback);

function gzip(body: Uint8Array): Promise<Buffer> | Buffer {
  return body.byteLength <= IN_PLACE_MAX_BYTES ? gzipSync(body) : gzipPooled(body);
}

export const DELIVERY_COPY_MAX_BYTES = 5 * 1024 * 1024;

export type DeliveryCopyResult = { stored: true; key: string } | { stored: false; reason: 'size_exceeded' };

export function deliveryCopyKey(orgId: string, deliveryId: string): string {
  return `event-log/${keySegment(orgId)}/${keySegment(deliveryId)}.json.gz`;
}

export async function storeDeliveryCopy(
  blobs: BlobStore,
  orgId: string,
  deliveryId: string,
  body: Uint8Array,
  maxBytes = DELIVERY_COPY_MAX_BYTES,
): Promise<DeliveryCopyResult> {
  if (body.byteLength > maxBytes) return { stored: false, reason: 'size_exceeded' };
  const key = deliveryCopyKey(orgId, deliveryId);
  await blobs.put(key, await gzip(body));
  return { stored: true, key };
}

/** The original body bytes, or null when no copy was stored. */
export async function readDeliveryCopy(blobs: BlobStore, orgId: string, deliveryId: string): Promise<Buffer | null> {
  const gz = await blobs.get(deliveryCopyKey(orgId, deliveryId));
  return gz ? gunzip(gz) : null;
}

/** Delete a delivery's copy (retention); false when none was stored, so a repeat is harmless. */
export function deleteDeliveryCopy(blobs: Pick<BlobStore, 'delete'>, orgId: string, deliveryId: string): Promise<boolean> {
  return blobs.delete(deliveryCopyKey(orgId, deliveryId));
}
