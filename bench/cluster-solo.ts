/**
 * A node alone: from opening its Raft log (a fresh FileStorage naming it the only voter, fsyncs
 * included) until it leads. It campaigns at once instead of waiting out an election timeout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { systemClock, systemRandom } from '../src/clock/index.js';
import { ClusterRaft } from '../src/cluster/index.js';
import { FileStorage } from '../src/raft/index.js';

async function oneElection(): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kici-bench-solo-'));
  const started = performance.now();
  const storage = new FileStorage(dir, { conf: { voters: [1], learners: [] } });
  const raft = new ClusterRaft({ raftId: 1, storage, clock: systemClock, random: () => systemRandom.next(), send: () => undefined });
  try {
    if (raft.status().role !== 'leader') {
      await new Promise<void>((resolve) => {
        const off = raft.leadership().onChange((leader) => {
          if (!leader) return;
          off();
          resolve();
        });
      });
    }
    return performance.now() - started;
  } finally {
    raft.stop();
    storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** p50/p99/max of `trials` lone elections, in ms. */
export async function soloElections(trials = 20): Promise<{ p50: number; p99: number; max: number }> {
  const times: number[] = [];
  for (let i = 0; i < trials; i++) times.push(await oneElection());
  times.sort((a, b) => a - b);
  const at = (p: number) => times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)];
  return { p50: at(0.5), p99: at(0.99), max: times[times.length - 1] };
}
