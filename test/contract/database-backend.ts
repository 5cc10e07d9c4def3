/**
 * The real RunStore (RepositoryRunStore) on a migrated database, seeded through the store room's
 * own writes: `runs.create` as run creation does it, then the fenced job and step updates for the
 * fields creation does not take (agent, dispatch bookkeeping, step times) — all at the seed epoch,
 * which the shard's row holds. Shards move through `shards.assign`, the raise a gaining node makes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadedRun } from '../../src/runs/index.js';
import { RepositoryRunStore } from '../../src/store/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { inOneTransaction, queryBuilderOf } from '../../src/store/testing.js';
import { freshDatabaseUrl } from '../support/postgres.js';
import type { RunStoreBackend } from './run-store.contract.js';

const date = (ms: number | null | undefined) => (ms == null ? null : new Date(ms));

export async function openDatabaseBackend(driver: 'postgres' | 'pglite'): Promise<RunStoreBackend> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kici-contract-'));
  const url = driver === 'postgres' ? await freshDatabaseUrl() : undefined;
  const database = await openStore({ url, dataDir });
  await database.migrations.migrate();
  return {
    store: new RepositoryRunStore(database),
    seed: (loaded, shard) => seedRun(database, loaded, shard),
    raiseShard: (shard, epoch) => database.shards.assign(shard, `node-at-${epoch}`, epoch),
    roundTrips: () => database.statements().roundTrips,
    async dropShard(shard) {
      await queryBuilderOf(database).deleteFrom('shards').where('shard', '=', shard).execute();
    },
    async close() {
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function seedRun(store: Store, { run, jobs, edges, steps }: LoadedRun, shard: number): Promise<void> {
  const epoch = run.ownerEpoch;
  if (epoch === undefined) throw new Error('a seeded run needs its owner epoch');
  const stepsOf = (jobId: string) => steps.filter((s) => s.jobId === jobId).sort((a, b) => a.stepIndex - b.stepIndex);
  await inOneTransaction(store, async (tx) => {
    await tx.runs.create(
      {
        id: run.id,
        orgId: run.orgId ?? 'org_contract',
        sourceId: run.sourceId ?? 'src_contract',
        workflowName: run.workflowName,
        status: run.status,
        attempt: run.attempt,
        shard,
        event: run.event ?? null,
        repoUrl: run.repoUrl,
        ref: run.ref,
        sha: run.sha,
        branch: run.branch,
        timeoutMs: run.timeoutMs,
        concurrency: run.concurrency,
        error: run.error,
        startedAt: date(run.startedAt),
        jobs: jobs.map((j) => ({
          id: j.id,
          name: j.name,
          baseName: j.baseName,
          matrix: j.matrix,
          config: j.config,
          status: j.status,
          needsSatisfied: j.needsSatisfied,
          outputs: j.outputs,
          finishedAt: date(j.finishedAt),
          steps: stepsOf(j.id).map((s, i) => {
            if (s.stepIndex !== i) throw new Error(`steps of ${j.name} must be numbered 0..n-1`);
            return { name: s.name, status: s.status, exitCode: s.exitCode };
          }),
        })),
        needs: edges.map((e) => ({ jobId: e.jobId, upstreamJobId: e.upstreamJobId, runOn: [...e.runOn] })),
      },
      epoch,
      new Date(),
    );
    for (const j of jobs) {
      await tx.jobs.update(j.id, epoch, {
        agentId: j.agentId ?? null,
        previousAgentId: j.previousAgentId ?? null,
        dispatchAttempts: j.dispatchAttempts,
        dispatchedAt: date(j.dispatchedAt),
        ackDeadline: date(j.ackDeadline),
        ackedAt: date(j.ackedAt),
        recoveryDeadline: date(j.recoveryDeadline),
        lastHeartbeatAt: date(j.lastHeartbeatAt),
        startedAt: date(j.startedAt),
        error: j.error ?? null,
      });
    }
    for (const s of steps) {
      await tx.steps.update(s.jobId, s.stepIndex, epoch, { startedAt: date(s.startedAt), finishedAt: date(s.finishedAt), error: s.error ?? null });
    }
  });
}
