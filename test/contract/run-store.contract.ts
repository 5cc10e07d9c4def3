/**
 * The RunStore port's contract, one suite for every implementation: the in-memory fake the RunActor
 * unit tests use, and the real store on PGlite and on PostgreSQL. A fake that passes this behaves,
 * as far as the actor can see, like the store it stands in for.
 *
 * Usage: `describeRunStoreContract('memory', async () => backend)`, once per backend. The backend is
 * opened once for the suite; every test seeds runs with fresh ids, so tests never share rows.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { LoadedRun, RunStore } from '../../src/runs/index.js';
import type { ContractContext, KnownGap } from './contract-context.js';
import { fencingContract } from './contract-fencing.js';
import { loadingContract } from './contract-loading.js';
import { runWritesContract } from './contract-run-writes.js';
import { writesContract } from './contract-writes.js';

export type { ContractContext, KnownGap } from './contract-context.js';

export interface RunStoreBackend {
  store: RunStore;
  /** Put a run with its jobs, needs edges and steps in, as written by the owner at `run.ownerEpoch`. */
  seed(run: LoadedRun): Promise<void>;
  close(): Promise<void>;
}

export function describeRunStoreContract(name: string, open: () => Promise<RunStoreBackend>, options: { knownGaps?: KnownGap[] } = {}): void {
  describe(`RunStore contract [${name}]`, () => {
    let backend: RunStoreBackend | undefined;
    beforeAll(async () => {
      backend = await open();
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
      async seed(fixture) {
        await opened().seed(fixture.loaded);
        return fixture;
      },
      async load(runId) {
        const loaded = await opened().store.loadRun(runId);
        if (!loaded) throw new Error(`run ${runId} did not load`);
        return loaded;
      },
      gap: (gap) => (title, test) => (options.knownGaps?.includes(gap) ? it.fails : it)(title, test),
    };

    describe('loadRun', () => loadingContract(ctx));
    describe('writes', () => writesContract(ctx));
    describe('fencing', () => fencingContract(ctx));
    describe('as RunWrites reads a refusal', () => runWritesContract(ctx));
  });
}
