/**
 * Master-key rotation: re-seal every value sealed with a key other than the current one, and the
 * start check that refuses a node missing a key some value needs.
 *
 * A rotation, as the operator runs it: restart a node with `KICI_SECRET_KEY` = the new key and
 * `KICI_SECRET_KEY_OLD` = the previous one (values are then read with either, written with the new
 * one only), run `kici-admin rotate-key` there until it reports nothing left (in a cluster it first
 * hands both keys to the other coordinators: server/wiring/master-key-handover.ts), then remove
 * `KICI_SECRET_KEY_OLD`. Each batch is its own transaction, so a crash loses at most one batch's
 * work and running it again continues where it stopped: re-sealed rows no longer match.
 */
import type { AuditActor, KeyRotationRepository, SealedRow, SealedRowCursor, SealedTable } from '../store/index.js';
import { SEALED_TABLES } from '../store/index.js';
import { describeKeyVersion, LEGACY_KEY_VERSION } from './key-version.js';
import { backendConfigBinding } from './secret-backends.js';
import { openersOf } from './live-keys.js';
import type { SecretKeys } from './secret-store.js';
import { open, seal, type SecretBinding } from './sealing.js';

export const ROTATION_BATCH_SIZE = 100;

export interface TableRotation {
  table: SealedTable;
  /** Values re-sealed with the current key by this call. */
  moved: number;
  /** Values changed by someone else between read and write (left for the next call, if still old). */
  skipped: number;
  /** Values of this table still sealed with another key when this call finished. */
  left: number;
}

export interface RotationReport {
  /** The current key's version: every value re-sealed now carries it. */
  keyVersion: number;
  tables: TableRotation[];
  moved: number;
  left: number;
  /** True when nothing is left: `KICI_SECRET_KEY_OLD` can be removed. */
  complete: boolean;
  /**
   * In a cluster, once `complete`: how many coordinators (this one included) no longer hold the old
   * key, each told to drop it from memory and from its sealed handover. Absent when there was no old key.
   */
  oldKeyDropped?: number;
}

export interface RotationOptions {
  /** Values per transaction. */
  batchSize?: number;
  /** Stop after this many batches (tests use it to stand for a crash part-way). */
  maxBatches?: number;
  /** Who asked (the audit row's actor) and when. */
  by: AuditActor;
  now(): Date;
}

/** The associated data a value was sealed with, rebuilt from where it lives. */
export function bindingOf(row: SealedRow): SecretBinding {
  return row.at.table === 'sealed_secrets' ? { orgId: row.at.orgId, scope: row.at.scope, name: row.at.key } : backendConfigBinding(row.at.name);
}

/**
 * Re-seal, table by table, every value whose key version is not the current key's. A value that
 * no key opens stops the call with SecretOpenError (naming its location only); the start check
 * keeps such values from being there in the first place.
 */
export async function rotateMasterKey(repository: KeyRotationRepository, keys: SecretKeys, options: RotationOptions): Promise<RotationReport> {
  const batchSize = options.batchSize ?? ROTATION_BATCH_SIZE;
  const openers = openersOf(keys);
  const current = keys.current.version;
  let batches = 0;
  const done = new Map<SealedTable, { moved: number; skipped: number }>();
  for (const table of SEALED_TABLES) {
    const tally = { moved: 0, skipped: 0 };
    done.set(table, tally);
    // Keyset pages: a row skipped because it changed meanwhile is not read again in this call.
    let after: SealedRowCursor | undefined;
    while (options.maxBatches === undefined || batches < options.maxBatches) {
      const rows = await repository.sealedOtherThan(table, current, batchSize, after);
      if (rows.length === 0) break;
      const changes = rows.map((row) => {
        const binding = bindingOf(row);
        return { from: row, to: seal(keys.current, binding, open(openers, binding, row.sealed)) };
      });
      const written = await repository.reseal(changes);
      tally.moved += written;
      tally.skipped += rows.length - written;
      after = rows[rows.length - 1]!.at;
      batches += 1;
    }
  }
  const counts = await repository.countsByKeyVersion();
  const tables = SEALED_TABLES.map((table) => ({
    table,
    ...done.get(table)!,
    left: counts.filter((c) => c.table === table && c.keyVersion !== current).reduce((n, c) => n + c.count, 0),
  }));
  const report: RotationReport = {
    keyVersion: current,
    tables,
    moved: tables.reduce((n, t) => n + t.moved, 0),
    left: tables.reduce((n, t) => n + t.left, 0),
    complete: tables.every((t) => t.left === 0),
  };
  await repository.reseal([], {
    event: {
      actor: options.by,
      action: 'key.rotate',
      subject: { id: String(current), name: 'master key' },
      details: { keyVersion: current, moved: report.moved, left: report.left, tables: Object.fromEntries(tables.map((t) => [t.table, { moved: t.moved, left: t.left }])) },
    },
    at: options.now(),
  });
  return report;
}

/**
 * What keeps this node from reading every sealed value: one line per table and key version that
 * neither key can open, e.g. `sealed_secrets: 12 values sealed with key version 3, which is neither
 * KICI_SECRET_KEY nor KICI_SECRET_KEY_OLD`. One grouped query per table; values from before key
 * versions (version 1) cost one more read per table, to try the keys on one of them.
 */
export async function missingKeyProblems(repository: KeyRotationRepository, keys: SecretKeys): Promise<string[]> {
  const known = new Set([keys.current.version, ...(keys.old ? [keys.old.version] : [])]);
  const problems: string[] = [];
  for (const { table, keyVersion, count } of await repository.countsByKeyVersion()) {
    if (known.has(keyVersion)) continue;
    if (keyVersion === LEGACY_KEY_VERSION && (await legacyOpens(repository, table, keys))) continue;
    const values = `${count} value${count === 1 ? '' : 's'}`;
    const which = keys.old ? 'neither KICI_SECRET_KEY nor KICI_SECRET_KEY_OLD' : 'not KICI_SECRET_KEY (and no KICI_SECRET_KEY_OLD is set)';
    const verb = keyVersion === LEGACY_KEY_VERSION ? (keys.old ? 'which neither KICI_SECRET_KEY nor KICI_SECRET_KEY_OLD opens' : 'which KICI_SECRET_KEY does not open (and no KICI_SECRET_KEY_OLD is set)') : `which is ${which}`;
    problems.push(`${table}: ${values} sealed with ${describeKeyVersion(keyVersion)}, ${verb}`);
  }
  return problems;
}

/** A value sealed before versions came from an unnamed key: one that opens with ours is taken as all of them. */
async function legacyOpens(repository: KeyRotationRepository, table: SealedTable, keys: SecretKeys): Promise<boolean> {
  const sample = await repository.sampleSealedWith(table, LEGACY_KEY_VERSION);
  if (!sample) return true;
  try {
    open(openersOf(keys), bindingOf(sample), sample.sealed);
    return true;
  } catch {
    return false;
  }
}
