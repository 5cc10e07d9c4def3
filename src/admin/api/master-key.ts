import { z } from 'zod';
import { KeyHandoverRefusedError, SecretOpenError } from '../../secrets/index.js';
import type { AdminDeps } from './deps.js';
import { apiError, parseBody, type RouteTable } from './http.js';

/**
 * Master-key rotation (`kici-admin rotate-key`). `POST /admin/rotate-key` `{batchSize?}` re-seals
 * every value sealed with a key other than the current `KICI_SECRET_KEY`, 100 per transaction by
 * default, and answers how many it moved and how many are left, per table, with `complete` true
 * when `KICI_SECRET_KEY_OLD` can be removed. Running it again continues where it stopped (after a
 * crash too); with nothing left it moves nothing. Every call is audited (`key.rotate`, the
 * counts only). In a cluster it first hands the keys to every live coordinator and answers 409,
 * re-sealing nothing, naming any that did not take them. Admin tokens only, as every route here; the answer never holds a value or a key,
 * only the current key's version (which is derived one-way from the key).
 */

const rotateBody = z
  .object({ batchSize: z.number().int().min(1).max(1000).optional() })
  .strict();

export function masterKeyRoutes(deps: AdminDeps): RouteTable {
  return [
    ['POST', '/admin/rotate-key', async (req) => {
      const body = await parseBody(req, rotateBody);
      if (!deps.rotateMasterKey) throw apiError(503, 'unavailable', 'master-key rotation is not available on this node');
      try {
        const report = await deps.rotateMasterKey({ name: req.caller.name, tokenId: req.caller.tokenId }, { batchSize: body.batchSize });
        return { status: 200, body: report };
      } catch (e) {
        // Names the value's location (organisation, scope, name), never the value: the start check should have refused this node.
        // Names the coordinators that did not take the new key and why (key versions, never keys); nothing was re-sealed.
        if (e instanceof KeyHandoverRefusedError) throw apiError(409, 'conflict', e.message);
        if (e instanceof SecretOpenError) throw apiError(409, 'conflict', `${e.message}; start this node with the key that sealed it as KICI_SECRET_KEY_OLD`);
        throw e;
      }
    }],
  ];
}
