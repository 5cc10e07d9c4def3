/**
 * The RunStore port's contract, one suite for every implementation: the in-memory fake the RunActor
 * unit tests use, and the real store on PGlite and on PostgreSQL. A fake that passes this behaves,
 * as far as the actor can see, like the store it stands in for.
 *
 * Usage: `describeRunStoreContract('memory', async () => backend)`, once per backend. The backend is
 * opened once for the suite; every test seeds runs with fresh ids, so tests never share rows. Runs
 * go to one shared shard whose row stays at E, unless a test takes a shard of its own (to move or
 * drop it): shards are a fixed set (0..255), so only tests that change one get their own.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import type { LoadedRun, RunStore } from '../../src/runs/index.js';
import { concurrentWritesContract } from './contract-concurrent-writes.js';
import type { ContractContext } from './contract-context.js';
import { fencingContract } from './contract-fencing.js';
import { holdsContract } from './contract-holds.js';
import { loadingContract } from './contract-loading.js';
import { runWritesContract } from './contract-run-writes.js';
import { writesContract } from './contract-writes.js';
import { E, SHARED_SHARD } from './run-store.fixtures.js';

export type { ContractContext } from './contract-context.js';

export interface RunStoreBackend {
  store: RunStore;
  /**
   * Put a run with its jobs, needs edges and steps into `shard`, as written by the owner at
   * `run.ownerEpoch` (the shard's row is at that epoch when this is called).
   */
  seed(run: LoadedRun, shard: number): Promise<void>;
  /**
   * The row of `shard` to `epoch`, created when missing; only ever forward (false, and nothing
   * changes, for an epoch not above the row's). The raise of a node that gains the shard.
   */
  raiseShard(shard: number, epoch: number): Promise<boolean>;
  /** Remove the row of `shard`. */
  dropShard(shard: number): Promise<void>;
  /** Round trips to the database so far, where there is one (the real store counts them at its driver). */
  roundTrips?(): number;
  close(): Promise<void>;
}

const SHARD_COUNT = 256;

export function describeRunStoreContract(name: string, open: () => Promise<RunStoreBackend>): void {
  describe(`RunStore contract [${name}]`, () => {
    let backend: RunStoreBackend | undefined;
    let nextShard = SHARED_SHARD + 1;
    beforeAll(async () => {
      backend = await open();
      if (!(await backend.raiseShard(SHARED_SHARD, E))) throw new Error('the shared shard could not be set up');
    });
    afterAll(async () => {
      await backend?.close();
    });

    const opened = () => {
      if (!backend) throw new Error('backend not open');
      return backend;
    };
    const ctx: ContractContext = {
      store: () => opened().store,
      async seed(fixture, options = {}) {
        const shard = options.shard ?? SHARED_SHARD;
        await opened().seed(fixture.loaded, shard);
        return { ...fixture, shard };
      },
      async newShard() {
        const shard = nextShard++;
        if (shard >= SHARD_COUNT) throw new Error('the contract ran out of shards: fewer tests may take a shard of their own');
        if (!(await opened().raiseShard(shard, E))) throw new Error(`shard ${shard} already had a row`);
        return shard;
      },
      async moveShard(shard, epoch) {
        if (!(await opened().raiseShard(shard, epoch))) throw new Error(`shard ${shard} could not be raised to ${epoch}`);
      },
      dropShard: (shard) => opened().dropShard(shard),
      roundTrips: () => opened().roundTrips?.(),
      async load(runId) {
        const loaded = await opened().store.loadRun(runId);
        if (!loaded) throw new Error(`run ${runId} did not load`);
        return loaded;
      },
    };

    describe('loadRun', () => loadingContract(ctx));
    describe('writes', () => writesContract(ctx));
    describe('fencing', () => fencingContract(ctx));
    describe('as RunWrites reads a refusal', () => runWritesContract(ctx));
    describe('job writes sent at once', () => concurrentWritesContract(ctx));
    describe('holds', () => holdsContract(ctx));
  });
}
