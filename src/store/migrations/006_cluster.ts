/**
 * The cluster's identity, its join tokens, and what a revocation needs.
 *
 * - `cluster_identity` holds one row: the cluster id and its CA (certificate and fingerprint; the
 *   CA's private key stays in the data directory of the node that made it). A node checks at start
 *   that its data directory's CA is this one.
 * - `join_tokens` are single-use and expire. Only the secret's SHA-256 is kept; `used_at`/`used_by`
 *   say which node spent a token, `revoked_at` that an operator withdrew it unused.
 * - `node_certificates` records every node certificate the CA issued (serial, node, role, expiry),
 *   so revoking a node by its id finds its certificates; the revoked list a peer checks is the
 *   revoked rows' serials.
 * - `revoked_nodes` bars a node id for good: a revoked node cannot spend a new token under its old
 *   id (Raft never reuses an id either).
 */
import { sql, type Kysely } from 'kysely';

const ROLE = `role text NOT NULL CHECK (role IN ('coordinator', 'worker'))`;

const UP = [
  `CREATE TABLE cluster_identity (
     singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
     cluster_id text NOT NULL,
     ca_fingerprint text NOT NULL CHECK (ca_fingerprint ~ '^sha256:[0-9a-f]{64}$'),
     ca_certificate text NOT NULL,
     created_by text NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE TABLE join_tokens (
     id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{16}$'),
     secret_hash text NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
     ${ROLE},
     ca_fingerprint text NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     expires_at timestamptz NOT NULL,
     used_at timestamptz,
     used_by text,
     revoked_at timestamptz
   )`,
  `CREATE TABLE node_certificates (
     serial text PRIMARY KEY CHECK (serial ~ '^[1-9a-f][0-9a-f]{0,31}$'),
     node_id text NOT NULL,
     ${ROLE},
     join_token_id text,
     issued_at timestamptz NOT NULL DEFAULT now(),
     not_after timestamptz NOT NULL,
     revoked_at timestamptz
   )`,
  `CREATE INDEX node_certificates_node ON node_certificates (node_id)`,
  `CREATE INDEX node_certificates_revoked ON node_certificates (serial) WHERE revoked_at IS NOT NULL`,
  `CREATE TABLE revoked_nodes (
     node_id text PRIMARY KEY,
     revoked_at timestamptz NOT NULL DEFAULT now(),
     reason text
   )`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of UP) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['revoked_nodes', 'node_certificates', 'join_tokens', 'cluster_identity']) await sql.raw(`DROP TABLE IF EXISTS ${table}`).execute(db);
}
