/**
 * Holds written through the store's HoldRepository, seen the way operators and metrics see them:
 * seed 000's monitoring queries run unchanged over them (through a plain `pg` client on
 * PostgreSQL, as psql would send them), a vote leaves its audit row, the pending-holds gauge
 * counts them per environment. Then what migration 014 changed in the table, and its way back.
 * The run domain's side of holds (fencing, guards, all or nothing) is the RunStore contract's
 * (test/contract/contract-holds.ts).
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HoldVote, NewHold } from '../../../src/environments/index.js';
import type { DatabaseDriver, NewRun, Store } from '../../../src/store/index.js';
import { inOneTransaction, migrationProvider, queryBuilderOf } from '../../../src/store/testing.js';
import { DRIVERS, openTestStore } from '../../support/store-drivers.js';

/** Seed 000's statements, character for character apart from line breaks. */
const SEED = {
  pendingPerEnvironment: `SELECT e.name, COUNT(*) as pending_count
FROM held_runs hr
JOIN environments e ON e.id = hr.environment_id
WHERE hr.status = 'pending'
GROUP BY e.name;`,
  overdueHolds: `SELECT id, status, expires_at, created_at
FROM held_runs
WHERE status = 'pending' AND expires_at < NOW();`,
};

const EPOCH = 1;
const HOUR = 3_600_000;

type Row = Record<string, unknown>;

interface Database {
  store: Store;
  /** One statement as an operator sends it; its rows. */
  run(statement: string): Promise<Row[]>;
  close(): Promise<void>;
}

async function openDatabase(driver: DatabaseDriver): Promise<Database> {
  const { store, dataDir, url } = await openTestStore(driver);
  await store.shards.seed('node-a', EPOCH);
  const client = url ? new pg.Client({ connectionString: url }) : undefined;
  await client?.connect();
  return {
    store,
    async run(statement) {
      if (client) return (await client.query(statement)).rows as Row[];
      return (await sql.raw(statement).execute(queryBuilderOf(store))).rows as Row[];
    },
    async close() {
      await client?.end();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A run of `orgId` with one pending job (`deploy`), in shard 0. */
async function newRun(store: Store, orgId: string): Promise<{ runId: string; jobId: string }> {
  const runId = randomUUID();
  const jobId = randomUUID();
  const run: NewRun = {
    id: runId,
    orgId,
    sourceId: 'src_holds',
    workflowName: 'deploy',
    shard: 0,
    event: { type: 'push' },
    jobs: [{ id: jobId, name: 'deploy (eu)', baseName: 'deploy', config: { name: 'deploy' }, needsSatisfied: true, steps: [{ name: 'a' }] }],
    needs: [],
  };
  await store.runs.create(run, EPOCH, new Date());
  return { runId, jobId };
}

/** A pending hold on a new run's job, made as the run actor makes it. */
async function held(store: Store, orgId: string, fields: Partial<NewHold> = {}): Promise<{ runId: string; jobId: string; holdId: string }> {
  const { runId, jobId } = await newRun(store, orgId);
  const hold: NewHold = {
    orgId,
    runId,
    jobId,
    environmentId: null,
    gate: 'reviewers',
    reviewers: ['alice', 'bob'],
    reason: 'waiting for reviewers',
    createdAt: Date.now(),
    expiresAt: Date.now() + HOUR,
    ...fields,
  };
  expect(await store.holds.hold(jobId, EPOCH, { environmentGate: { waiting: hold.gate, slots: [] } }, { expectedStatus: 'pending' }, hold)).toBe(true);
  const holds = await store.holds.ofRun(runId);
  return { runId, jobId, holdId: holds.find((h) => h.gate === hold.gate)!.id };
}

const vote = (reviewer: string, verdict: HoldVote['verdict'], reason: string | null = null): HoldVote => ({ reviewer, verdict, reason, at: Date.now() });

for (const driver of DRIVERS) {
  describe(`held runs [${driver}]`, () => {
    let db: Database;
    beforeAll(async () => {
      db = await openDatabase(driver);
    });
    afterAll(async () => {
      await db?.close();
    });

    describe('as seed 000 and the gauge see them', () => {
      let overdue: string;
      beforeAll(async () => {
        const envs = db.store.environments;
        const production = await envs.create({ orgId: 'org-a', name: 'production', requiredReviewers: ['alice', 'bob'] }, new Date());
        const staging = await envs.create({ orgId: 'org-a', name: 'staging' }, new Date());
        const otherProduction = await envs.create({ orgId: 'org-b', name: 'production' }, new Date());

        overdue = (await held(db.store, 'org-a', { environmentId: production.id, expiresAt: Date.now() - 60_000 })).holdId;
        await held(db.store, 'org-a', { environmentId: production.id });
        await held(db.store, 'org-a', { environmentId: staging.id, gate: 'trust', reviewers: [] });
        await held(db.store, 'org-b', { environmentId: otherProduction.id });
        await held(db.store, 'org-b', { environmentId: null });
        const approved = await held(db.store, 'org-a', { environmentId: staging.id, reviewers: ['alice'], expiresAt: Date.now() - HOUR });
        const closing = { holdId: approved.holdId, status: 'approved' as const, vote: vote('alice', 'approve'), at: Date.now() };
        expect(await db.store.holds.change(approved.jobId, EPOCH, {}, { expectedStatus: 'pending' }, closing)).toBe(true);
        const cancelled = await held(db.store, 'org-b', { environmentId: otherProduction.id, expiresAt: Date.now() - HOUR });
        expect(await db.store.holds.change(cancelled.jobId, EPOCH, { status: 'cancelled' }, {}, { holdId: cancelled.holdId, status: 'cancelled', at: Date.now() })).toBe(true);
      });

      it("the seed's pending-per-environment query counts them (by name, across orgs)", async () => {
        const rows = await db.run(SEED.pendingPerEnvironment);
        expect(Object.fromEntries(rows.map((r) => [r.name, Number(r.pending_count)]))).toEqual({ production: 3, staging: 1 });
      });

      it("the seed's overdue query finds the pending hold past its expiry, not the closed ones", async () => {
        const rows = await db.run(SEED.overdueHolds);
        expect(rows.map((r) => [r.id, r.status])).toEqual([[overdue, 'pending']]);
        expect(rows[0]).toHaveProperty('expires_at');
        expect(rows[0]).toHaveProperty('created_at');
        expect(await db.store.holds.overdue(new Date(), 10)).toEqual([expect.objectContaining({ holdId: overdue })]);
      });

      it('the gauge counts pending holds per org and environment, those without one under null', async () => {
        expect(await db.store.holds.pendingByEnvironment()).toEqual([
          { orgId: 'org-a', environment: 'production', pending: 2 },
          { orgId: 'org-a', environment: 'staging', pending: 1 },
          { orgId: 'org-b', environment: 'production', pending: 1 },
          { orgId: 'org-b', environment: null, pending: 1 },
        ]);
      });
    });

    it('a vote is audited with it, by its reviewer, naming the hold and its job; a refused vote is not', async () => {
      const { runId, jobId, holdId } = await held(db.store, 'org-audit');
      const before = await db.store.audit.list({ limit: 500 });
      const no = vote('bob', 'reject', 'not today');
      expect(await db.store.holds.change(jobId, EPOCH, { status: 'cancelled' }, { expectedStatus: 'pending' }, { holdId, status: 'rejected', vote: no, at: no.at })).toBe(true);
      expect(await db.store.holds.change(jobId, EPOCH, {}, {}, { holdId, status: 'pending', vote: vote('alice', 'approve'), at: Date.now() })).toBe(false);

      const events = await db.store.audit.list({ limit: 500 });
      expect(events).toHaveLength(before.length + 1);
      expect(events[0]).toMatchObject({
        at: new Date(no.at),
        actor: 'bob',
        actorTokenId: null,
        action: 'held_run.reject',
        subject: { id: holdId, name: 'deploy (eu)' },
        details: { runId, jobId, gate: 'reviewers', reason: 'not today' },
        orgId: 'org-audit',
      });
      const [hold] = await db.store.holds.ofRun(runId);
      expect(hold).toMatchObject({ status: 'rejected', decidedBy: 'bob', reason: 'waiting for reviewers', votes: [no] });
    });

    it("inside a caller's transaction, a refused change takes back its own writes only", async () => {
      const { runId, jobId, holdId } = await held(db.store, 'org-tx');
      const other = await newRun(db.store, 'org-tx');
      await inOneTransaction(db.store, async (tx) => {
        expect(await tx.jobs.update(other.jobId, EPOCH, { error: 'kept' })).toBe(true);
        // The job's update goes through, then the hold (of another job) refuses: both undone.
        expect(await tx.holds.change(other.jobId, EPOCH, { error: 'undone' }, {}, { holdId, status: 'expired', at: Date.now() })).toBe(false);
        expect(await tx.holds.change(jobId, EPOCH, {}, {}, { holdId, status: 'pending', vote: vote('alice', 'approve'), at: Date.now() })).toBe(true);
      });
      expect((await db.store.jobs.get(other.jobId))?.error).toBe('kept');
      expect((await db.store.holds.ofRun(runId))[0]?.votes.map((v) => v.reviewer)).toEqual(['alice']);
    });

    describe('migration 014', () => {
      const refused = async (statement: string) => {
        const error = await db.run(statement).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(error, statement).toBeInstanceOf(Error);
        return error!.message;
      };

      it('keeps one hold per job and gate, and takes cancelled as a closed status', async () => {
        const { runId, jobId, holdId } = await held(db.store, 'org-014', { gate: 'trust', reviewers: [] });
        await db.run(`INSERT INTO held_runs (org_id, run_id, job_id, gate, expires_at) VALUES ('org-014', '${runId}', '${jobId}', 'reviewers', now())`);
        expect(await refused(`INSERT INTO held_runs (org_id, run_id, job_id, gate, expires_at) VALUES ('org-014', '${runId}', '${jobId}', 'trust', now())`)).toMatch(/held_runs_run_job_gate/);
        await refused(`UPDATE held_runs SET status = 'cancelled' WHERE id = '${holdId}'`);
        await refused(`UPDATE held_runs SET status = 'withdrawn', decided_at = now() WHERE id = '${holdId}'`);
        await db.run(`UPDATE held_runs SET status = 'cancelled', decided_at = now() WHERE id = '${holdId}'`);
      });

      it('goes down to one hold per job (its newest) and no cancelled hold, and up again', async () => {
        const { store, dataDir } = await openTestStore(driver);
        try {
          await store.shards.seed('node-a', EPOCH);
          const first = await held(store, 'org-down', { gate: 'trust', reviewers: [] });
          expect(await store.holds.change(first.jobId, EPOCH, {}, {}, { holdId: first.holdId, status: 'approved', vote: vote('admin', 'approve'), at: Date.now() })).toBe(true);
          expect(await store.holds.hold(first.jobId, EPOCH, {}, {}, { orgId: 'org-down', runId: first.runId, jobId: first.jobId, environmentId: null, gate: 'reviewers', reviewers: ['alice'], reason: 'r', createdAt: Date.now(), expiresAt: Date.now() + HOUR })).toBe(true);
          const second = await held(store, 'org-down');
          expect(await store.holds.change(second.jobId, EPOCH, {}, {}, { holdId: second.holdId, status: 'cancelled', at: Date.now() })).toBe(true);

          const { Migrator } = await import('kysely/migration');
          const migrator = new Migrator({ db: queryBuilderOf(store), provider: migrationProvider });
          const down = await migrator.migrateTo('013_job_environment_slots');
          expect(down.error).toBeUndefined();
          expect((await store.holds.ofRun(first.runId)).map((h) => [h.gate, h.status])).toEqual([['reviewers', 'pending']]);
          expect((await store.holds.ofRun(second.runId)).map((h) => h.status)).toEqual(['expired']);

          expect((await migrator.migrateToLatest()).error).toBeUndefined();
        } finally {
          await store.close();
          rmSync(dataDir, { recursive: true, force: true });
        }
      });
    });
  });
}
