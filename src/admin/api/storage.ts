import { z } from 'zod';
import { S3StorageUnavailableError } from '../../store/index.js';
import type { AdminDeps } from './deps.js';
import { apiError, parseBody, type RouteTable } from './http.js';

const s3Target = z.strictObject({
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
  logBucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name').optional(),
  region: z.string().min(1).default('us-east-1'),
  endpoint: z.string().regex(/^https?:\/\/[^/?#@]+/, 'must be an http(s) URL without credentials').optional(),
  forcePathStyle: z.boolean().default(false),
  prefix: z.string().default(''),
  checksums: z.enum(['when_supported', 'when_required']).default('when_required'),
});

const migrateBody = z.discriminatedUnion('to', [
  z.strictObject({ to: z.literal('filesystem') }),
  z.strictObject({ to: z.literal('database') }),
  z.strictObject({ to: z.literal('s3'), s3: s3Target }),
]);

/**
 * `POST /storage/migrate`: copy this node's blobs and step logs to another backend (what is there
 * already is skipped, so it can be run again). The node keeps using its current storage. Answered
 * when the copy is done, with the counts; audited after the work. A bucket is named, never a credential.
 */
export function storageRoutes(deps: AdminDeps): RouteTable {
  return [
    ['POST', '/storage/migrate', async (req) => {
      const body = await parseBody(req, migrateBody);
      if (!deps.migrateStorage) throw apiError(501, 'not_available', 'storage migration is not wired on this node');
      let result;
      try {
        result = await deps.migrateStorage(body);
      } catch (error) {
        if (error instanceof S3StorageUnavailableError) throw apiError(502, 'storage_unavailable', error.message);
        throw error;
      }
      if ('refused' in result) throw apiError(409, 'same_storage', result.refused);
      await deps.store.audit.record(
        {
          actor: { name: req.caller.name, tokenId: req.caller.tokenId },
          action: 'storage.migrate',
          subject: { id: 'storage', name: null },
          details: { from: result.from, to: result.to, ...(body.to === 's3' ? { bucket: body.s3.bucket } : {}), counts: result.counts },
        },
        new Date(deps.clock?.now() ?? Date.now()),
      );
      return { status: 200, body: result };
    }],
  ];
}
