/**
 * Seed 000's operator SQL, verbatim: every statement of its "Creating environments", "Configuring
 * protection rules", "Monitoring → Useful queries" and "Troubleshooting" sections runs unchanged
 * against a migrated database and returns what the seed says it shows. On PostgreSQL the
 * statements go through a plain `pg` client, as psql would send them; PGlite gets them too.
 * Then the table's constraints: what they refuse, and what deleting an environment keeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { insertPendingHold } from '../../contract/environment-store.database.js';
import { openOperatorDatabase, type OperatorDatabase } from '../../support/operator-sql.js';
import { DRIVERS } from '../../support/store-drivers.js';

/** The seed's statements, character for character apart from line breaks. */
const SEED = {
  createFixed: `INSERT INTO environments (org_id, name, type, enabled)
VALUES ('my-org', 'production', 'fixed', true);`,
  createGlob: `INSERT INTO environments (org_id, name, type, glob_pattern, enabled)
VALUES ('my-org', 'review/*', 'glob', 'review/*', true);`,
  protectionRules: `UPDATE environments SET
  branch_restrictions = '["main", "release/*"]',
  required_reviewers = '["user-id-1", "user-id-2"]',
  wait_timer_seconds = 300,
  concurrency_limit = 1,
  concurrency_strategy = 'queue',
  hold_expiry_seconds = 86400
WHERE org_id = 'my-org' AND name = 'production';`,
  pendingPerEnvironment: `SELECT e.name, COUNT(*) as pending_count
FROM held_runs hr
JOIN environments e ON e.id = hr.environment_id
WHERE hr.status = 'pending'
GROUP BY e.name;`,
  recentRejections: `SELECT j.job_name, j.error_message, r.created_at
FROM execution_jobs j
JOIN execution_runs r ON r.run_id = j.run_id
WHERE j.error_message LIKE '%branch%' OR j.error_message LIKE '%protection%'
ORDER BY r.created_at DESC
LIMIT 20;`,
  runsPerEnvironment: `SELECT environment, status, COUNT(*) as count
FROM execution_runs
WHERE environment IS NOT NULL
GROUP BY environment, status
ORDER BY environment, status;`,
  branchRestrictions: `SELECT name, branch_restrictions FROM environments WHERE org_id = 'your-org';`,
  overdueHolds: `SELECT id, status, expires_at, created_at
FROM held_runs
WHERE status = 'pending' AND expires_at < NOW();`,
  variables: `SELECT ev.key, ev.value, ev.locked
FROM environment_variables ev
JOIN environments e ON e.id = ev.environment_id
WHERE e.org_id = 'your-org' AND e.name = 'your-env';`,
  globEnvironments: `SELECT name, glob_pattern FROM environments
WHERE org_id = 'your-org' AND type = 'glob';`,
  runningInGroup: `SELECT COUNT(*) as running
FROM execution_jobs j
JOIN execution_runs r ON r.run_id = j.run_id
WHERE j.status = 'running' AND r.environment = 'your-env';`,
  /** "Setting variables" (issue 17's section): the operator puts the environment's id for <env-id>. */
  setVariable: `INSERT INTO environment_variables (org_id, environment_id, key, value, locked)
VALUES ('my-org', '<env-id>', 'API_URL', 'https://api.example.com', false);`,
};

const HOUR = 3600_000;

/** A run (with `environment` set as the gates will set it) and its jobs, in plain SQL. */
async function insertRun(db: OperatorDatabase, run: { orgId: string; environment: string | null; status: string; createdAt: Date; jobs: { name: string; status: string; error?: string }[] }): Promise<string> {
  const q = queryBuilderOf(db.store);
  const { rows } = await sql<{ id: string }>`insert into runs (id, org_id, source_id, workflow_name, status, shard, owner_epoch, event, environment, created_at)
    values (gen_random_uuid(), ${run.orgId}, 'src_seed', 'deploy', ${run.status}, 0, 1, '{}'::jsonb, ${run.environment}, ${run.createdAt}) returning id`.execute(q);
  const runId = rows[0]!.id;
  for (const job of run.jobs) {
    await sql`insert into jobs (id, run_id, name, base_name, config, status, error, owner_epoch)
      values (gen_random_uuid(), ${runId}::uuid, ${job.name}, ${job.name}, '{}'::jsonb, ${job.status}, ${job.error ?? null}, 1)`.execute(q);
  }
  return runId;
}

for (const driver of DRIVERS) {
  describe(`seed 000's operator SQL [${driver}]`, () => {
    let db: OperatorDatabase;
    beforeAll(async () => {
      db = await openOperatorDatabase(driver);
    });
    afterAll(async () => {
      await db?.close();
    });

    it('"Creating environments" and "Configuring protection rules" write rows the store reads as set', async () => {
      expect(await db.run(SEED.createFixed)).toEqual([]);
      await db.run(SEED.createGlob);
      await db.run(SEED.protectionRules);

      const production = await db.store.environments.findByName('my-org', 'production');
      expect(production).toMatchObject({
        type: 'fixed',
        globPattern: null,
        enabled: true,
        branchRestrictions: ['main', 'release/*'],
        requiredReviewers: ['user-id-1', 'user-id-2'],
        waitTimerSeconds: 300,
        concurrencyLimit: 1,
        concurrencyStrategy: 'queue',
        holdExpirySeconds: 86400,
        triggerTypeFilters: [],
        minimumTrust: null,
      });
      const review = await db.store.environments.findByName('my-org', 'review/*');
      expect(review).toMatchObject({ type: 'glob', globPattern: 'review/*', branchRestrictions: [], requiredReviewers: [], holdExpirySeconds: 3600, concurrencyLimit: null });
      expect(review?.id).toMatch(/^[0-9a-f-]{36}$/);

      // "Setting variables", with the id in place of <env-id>.
      await db.run(SEED.setVariable.replace('<env-id>', production!.id));
      expect(await db.run(`SELECT key, value, locked FROM environment_variables WHERE environment_id = '${production!.id}'`)).toEqual([
        { key: 'API_URL', value: 'https://api.example.com', locked: false },
      ]);
    });

    describe('Monitoring and Troubleshooting', () => {
      const now = Date.now();
      let yourEnv: string;
      let overdueHold: string;
      let rejectedAt: Date;
      let heldAt: Date;

      beforeAll(async () => {
        const envs = db.store.environments;
        const env = await envs.create({ orgId: 'your-org', name: 'your-env', branchRestrictions: ['main'] }, new Date(now));
        yourEnv = env.id;
        const staging = await envs.create({ orgId: 'your-org', name: 'staging' }, new Date(now));
        await envs.create({ orgId: 'your-org', name: 'review/*', globPattern: 'review/*' }, new Date(now));
        await envs.create({ orgId: 'your-org', name: 'previews', globPattern: 'preview/**' }, new Date(now));

        rejectedAt = new Date(now - 2 * HOUR);
        heldAt = new Date(now - HOUR);
        await insertRun(db, {
          orgId: 'your-org',
          environment: 'your-env',
          status: 'running',
          createdAt: new Date(now),
          jobs: [
            { name: 'deploy-eu', status: 'running' },
            { name: 'deploy-us', status: 'running' },
            { name: 'smoke', status: 'pending' },
          ],
        });
        await insertRun(db, {
          orgId: 'your-org',
          environment: 'your-env',
          status: 'failed',
          createdAt: rejectedAt,
          jobs: [{ name: 'deploy', status: 'failed', error: "protection: branch 'feature/x' is not allowed for environment 'your-env'" }],
        });
        // KiCI's own wording: LIKE is case-sensitive, so the seed's query does not find it.
        await insertRun(db, {
          orgId: 'your-org',
          environment: 'your-env',
          status: 'failed',
          createdAt: new Date(now - 3 * HOUR),
          jobs: [{ name: 'kici-worded', status: 'failed', error: "Branch 'feature/y' not allowed for environment 'your-env'" }],
        });
        await insertRun(db, {
          orgId: 'your-org',
          environment: 'staging',
          status: 'cancelled',
          createdAt: heldAt,
          jobs: [{ name: 'migrate', status: 'cancelled', error: 'protection hold expired' }],
        });
        await insertRun(db, { orgId: 'your-org', environment: 'staging', status: 'running', createdAt: new Date(now), jobs: [{ name: 'other-group', status: 'running' }] });
        await insertRun(db, { orgId: 'your-org', environment: null, status: 'success', createdAt: new Date(now), jobs: [{ name: 'build', status: 'success', error: 'no branch here' }] });

        overdueHold = await insertPendingHold(db.store, yourEnv, { expiresAt: new Date(now - 60_000) });
        await insertPendingHold(db.store, yourEnv, { expiresAt: new Date(now + HOUR) });
        await insertPendingHold(db.store, staging.id, { expiresAt: new Date(now + HOUR) });
        const decided = await insertPendingHold(db.store, staging.id, { expiresAt: new Date(now - HOUR) });
        await db.run(`UPDATE held_runs SET status = 'approved', decided_at = now(), decided_by = 'alice' WHERE id = '${decided}'`);

        await db.run(SEED.setVariable.replace('my-org', 'your-org').replace('<env-id>', yourEnv));
      });

      it('counts pending holds per environment', async () => {
        const rows = await db.run(SEED.pendingPerEnvironment);
        const counts = Object.fromEntries(rows.map((r) => [r.name, Number(r.pending_count)]));
        expect(counts).toEqual({ 'your-env': 2, staging: 1 });
      });

      it('lists recent protection rejections, newest first', async () => {
        const rows = await db.run(SEED.recentRejections);
        expect(rows.map((r) => [r.job_name, r.error_message])).toEqual([
          ['build', 'no branch here'],
          ['migrate', 'protection hold expired'],
          ['deploy', "protection: branch 'feature/x' is not allowed for environment 'your-env'"],
        ]);
        expect(new Date(rows[2]!.created_at as string).getTime()).toBe(rejectedAt.getTime());
      });

      it('counts runs per environment and status', async () => {
        const rows = await db.run(SEED.runsPerEnvironment);
        expect(rows.map((r) => [r.environment, r.status, Number(r.count)])).toEqual([
          ['staging', 'cancelled', 1],
          ['staging', 'running', 1],
          ['your-env', 'failed', 2],
          ['your-env', 'running', 1],
        ]);
      });

      it("shows an org's branch restrictions, and the seed's fix clears them", async () => {
        const rows = await db.run(SEED.branchRestrictions);
        expect(Object.fromEntries(rows.map((r) => [r.name, r.branch_restrictions]))).toEqual({ 'your-env': ['main'], staging: [], 'review/*': [], previews: [] });
        await db.run(`UPDATE environments SET branch_restrictions = '[]' WHERE org_id = 'your-org' AND name = 'your-env'`);
        expect((await db.store.environments.get(yourEnv))?.branchRestrictions).toEqual([]);
      });

      it('finds pending holds past their expiry', async () => {
        const rows = await db.run(SEED.overdueHolds);
        expect(rows.map((r) => [r.id, r.status])).toEqual([[overdueHold, 'pending']]);
        expect(rows[0]).toHaveProperty('expires_at');
        expect(rows[0]).toHaveProperty('created_at');
      });

      it("shows an environment's variables", async () => {
        expect(await db.run(SEED.variables)).toEqual([{ key: 'API_URL', value: 'https://api.example.com', locked: false }]);
      });

      it("lists an org's glob environments", async () => {
        const rows = await db.run(SEED.globEnvironments);
        expect(rows.sort((a, b) => String(a.name).localeCompare(String(b.name)))).toEqual([
          { name: 'previews', glob_pattern: 'preview/**' },
          { name: 'review/*', glob_pattern: 'review/*' },
        ]);
      });

      it('counts the running jobs of a concurrency group', async () => {
        const rows = await db.run(SEED.runningInGroup);
        expect(rows.map((r) => Number(r.running))).toEqual([2]);
      });
    });

    describe('constraints', () => {
      const refused = async (statement: string) => {
        const error = await db.run(statement).then(() => undefined, (e: Error) => e);
        expect(error, statement).toBeInstanceOf(Error);
        return error!.message;
      };

      it('refuse rule lists that are not arrays of strings, and a glob environment without its glob', async () => {
        await db.run(`INSERT INTO environments (org_id, name) VALUES ('check-org', 'prod')`);
        for (const value of [`'"main"'`, `'[1]'`, `'[["main"]]'`, `'{"a":1}'`, 'NULL']) {
          await refused(`UPDATE environments SET branch_restrictions = ${value} WHERE org_id = 'check-org'`);
          await refused(`UPDATE environments SET required_reviewers = ${value} WHERE org_id = 'check-org'`);
        }
        await refused(`INSERT INTO environments (org_id, name, type) VALUES ('check-org', 'review/*', 'glob')`);
        await refused(`INSERT INTO environments (org_id, name, glob_pattern) VALUES ('check-org', 'fixed-with-glob', 'x/*')`);
        await refused(`INSERT INTO environments (org_id, name, concurrency_strategy) VALUES ('check-org', 's', 'fifo')`);
        await refused(`INSERT INTO environments (org_id, name, hold_expiry_seconds) VALUES ('check-org', 'h', 0)`);
        expect(await refused(`INSERT INTO environments (org_id, name) VALUES ('check-org', 'prod')`)).toMatch(/environments_org_name/);
      });

      it("refuse a variable that names another org's environment", async () => {
        const other = await db.store.environments.create({ orgId: 'org-b', name: 'prod' }, new Date());
        await refused(`INSERT INTO environment_variables (org_id, environment_id, key, value) VALUES ('org-a', '${other.id}', 'K', 'v')`);
        await db.run(`INSERT INTO environment_source_overrides (org_id, environment_id, routing_key, key, value) VALUES ('org-b', '${other.id}', 'src_1', 'K', 'v')`);
        await refused(`INSERT INTO environment_source_overrides (org_id, environment_id, routing_key, key, value) VALUES ('org-b', '${other.id}', 'src_1', 'K', 'w')`);
      });

      it('keep one hold per job and gate, one decision per reviewer, and a decision time exactly on decided holds', async () => {
        const env = await db.store.environments.create({ orgId: 'hold-org', name: 'prod' }, new Date());
        const hold = await insertPendingHold(db.store, env.id);
        const [row] = await db.run(`SELECT run_id, job_id FROM held_runs WHERE id = '${hold}'`);
        expect(await refused(`INSERT INTO held_runs (org_id, run_id, job_id, gate, expires_at) VALUES ('hold-org', '${row!.run_id}', '${row!.job_id}', 'reviewers', now())`)).toMatch(
          /held_runs_run_job_gate/,
        );
        // Another gate on the same job is a hold of its own (migration 014).
        await db.run(`INSERT INTO held_runs (org_id, run_id, job_id, gate, expires_at) VALUES ('hold-org', '${row!.run_id}', '${row!.job_id}', 'trust', now())`);
        await refused(`UPDATE held_runs SET status = 'approved' WHERE id = '${hold}'`);
        await refused(`UPDATE held_runs SET decided_at = now() WHERE id = '${hold}'`);
        await db.run(`INSERT INTO held_run_approvals (held_run_id, reviewer, decision) VALUES ('${hold}', 'alice', 'approve')`);
        await refused(`INSERT INTO held_run_approvals (held_run_id, reviewer, decision) VALUES ('${hold}', 'alice', 'reject')`);
        await refused(`INSERT INTO held_run_approvals (held_run_id, reviewer, decision) VALUES ('${hold}', 'bob', 'maybe')`);
      });

      it('deleting an environment takes its variables and overrides and keeps its decided holds', async () => {
        const env = await db.store.environments.create({ orgId: 'del-org', name: 'prod' }, new Date());
        await db.run(`INSERT INTO environment_variables (org_id, environment_id, key, value) VALUES ('del-org', '${env.id}', 'K', 'v')`);
        await db.run(`INSERT INTO environment_source_overrides (org_id, environment_id, routing_key, key, value) VALUES ('del-org', '${env.id}', 'src_1', 'K', 'w')`);
        const hold = await insertPendingHold(db.store, env.id);
        await expect(db.store.environments.delete(env.id)).rejects.toThrow('environment prod has 1 pending held run;');
        await db.run(`UPDATE held_runs SET status = 'rejected', decided_at = now(), decided_by = 'alice', reason = 'not today' WHERE id = '${hold}'`);
        expect(await db.store.environments.delete(env.id)).toMatchObject({ id: env.id });
        expect(await db.run(`SELECT count(*)::int AS n FROM environment_variables WHERE environment_id = '${env.id}'`)).toEqual([{ n: 0 }]);
        expect(await db.run(`SELECT count(*)::int AS n FROM environment_source_overrides WHERE environment_id = '${env.id}'`)).toEqual([{ n: 0 }]);
        expect(await db.run(`SELECT status, environment_id, reason FROM held_runs WHERE id = '${hold}'`)).toEqual([{ status: 'rejected', environment_id: null, reason: 'not today' }]);
      });
    });
  });
}
