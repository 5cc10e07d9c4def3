/**
 * How kici reaches an S3 bucket (AWS or an S3-compatible server: MinIO, SeaweedFS, R2, …), and the
 * one place a client is built from those settings. Credentials are never part of the settings:
 * the SDK's default chain finds them (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, an
 * instance role), so they are never parsed, kept or logged by kici.
 */
import { S3Client } from '@aws-sdk/client-s3';

/**
 * `when_required`: the SDK adds request checksums only where S3's API demands them (as SDKs did
 * before 2025), which every S3-compatible server accepts. `when_supported` (the SDK's newer
 * default) adds a CRC checksum to every upload, which some compatible servers refuse or mis-store.
 */
export type S3ChecksumMode = 'when_supported' | 'when_required';

export interface S3StorageSettings {
  /** Blobs (delivery copies, later caches). */
  bucket: string;
  /** Step logs; the blob bucket when absent. */
  logBucket?: string;
  region: string;
  /** An S3-compatible server's URL; AWS's own endpoints when absent. */
  endpoint?: string;
  /** `http://host/bucket/key` rather than `http://bucket.host/key` (most non-AWS servers need it). */
  forcePathStyle: boolean;
  /** Prepended to every key, as a folder: `ci` and `ci/` both keep objects under `ci/`. */
  prefix: string;
  checksums: S3ChecksumMode;
  /** Attempts per request (1 = no retry) and the first backoff, doubled at each retry. */
  retry?: { attempts: number; baseDelayMs: number };
  /** Keys per ListObjectsV2 page (S3's own limit, 1000, when absent); tests page with small ones. */
  listPageSize?: number;
}

export const S3_RETRY_DEFAULTS = { attempts: 4, baseDelayMs: 200 } as const;

export function createS3Client(settings: S3StorageSettings): S3Client {
  const mode = settings.checksums === 'when_supported' ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED';
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    requestChecksumCalculation: mode,
    responseChecksumValidation: mode,
    // Retries are kici's own (s3-requests.ts), so their count and backoff are known in one place
    // and a write that still fails can be reported as lost rather than retried forever.
    maxAttempts: 1,
  });
}

/** The prefix as a folder: '' or `segment/…/`. */
export function prefixFolder(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}
