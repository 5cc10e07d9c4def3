/**
 * What a seed's deployment has, beyond the network and the fault schedule: which storage the
 * servers run on and whether their disks fail, how their clocks drift and their event loops lag,
 * how big messages are against the links' bandwidth, how hard the client pushes, whether it
 * reads, and how the membership moves. Each seed draws them (from its own stream, so the fault
 * schedule of a seed does not depend on them); a command-line flag forces one on for every seed,
 * and `--plain` turns off every one not forced.
 *
 * | feature      | share of seeds | what it draws                                                  |
 * |--------------|----------------|----------------------------------------------------------------|
 * | file         | 50 %           | FileStorage on a simulated disk (else SimStorage)              |
 * | disk-faults  | 15 %           | file storage, plus 1–2 disk faults on one server: a bit flip   |
 * |              |                | then a restart, a full disk, or a failed fsync                 |
 * | drift        | 70 %           | clock rates within (1 + 0.1)^±½ of true time, extremes favoured |
 * | lag          | 50 %           | timers late by exp(mean 0.05–2 ms); now and then (≤ 0.3 % of   |
 * |              |                | firings) by a stall of up to 50–400 ms                         |
 * | bandwidth    | 50 %           | 1–100 MB/s per link (log-uniform); proposals of 16–2048 bytes, |
 * |              |                | snapshots padded to 0–64 KiB                                   |
 * | load         | 10 %           | the client keeps 4–32 proposals in flight; core flow control  |
 * |              |                | squeezed (max in-flight appends 1–8, entries per append 1–16)  |
 * | reads        | 50 %           | reads, Poisson with mean gap 50–200 ms, half of them lease     |
 * |              |                | reads                                                          |
 * | membership   | 30 %           | 1–3 more membership episodes: grow, shrink, replace            |
 */
import { NO_LAG, type TimerLag } from './clock.js';
import { SimRandom } from './random.js';
import type { StoreKind } from './store.js';

export const FEATURE_NAMES = ['file', 'disk-faults', 'drift', 'lag', 'bandwidth', 'load', 'reads', 'membership'] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

/** The share of seeds that draw each feature when it is neither forced nor turned off. */
export const FEATURE_SHARES: Readonly<Record<FeatureName, number>> = {
  file: 0.5,
  'disk-faults': 0.15,
  drift: 0.7,
  lag: 0.5,
  bandwidth: 0.5,
  load: 0.1,
  reads: 0.5,
  membership: 0.3,
};

/** The core's default assumption about clock rates (RaftConfig.maxClockDrift). */
export const CLOCK_DRIFT = 0.1;

export interface FeatureChoice {
  /** Forced on in every seed. */
  forced: readonly FeatureName[];
  /** Every feature not forced is off. */
  plain: boolean;
  /** Off in every seed (the test suite keeps the costly load mode for a test of its own). */
  off?: readonly FeatureName[];
}

export const DEFAULT_CHOICE: FeatureChoice = { forced: [], plain: false };

export interface Features {
  store: StoreKind;
  diskFaults: boolean;
  /** Spread of clock rates (0: exact clocks). */
  drift: number;
  lag: TimerLag;
  /** Bytes per virtual ms per directed link; 0: no cap. */
  bandwidth: number;
  payloadBytes: number;
  snapshotBytes: number;
  load: { window: number; maxInflight: number; maxEntriesPerMsg: number } | null;
  reads: { gap: number; leaseShare: number } | null;
  membership: boolean;
}

export const PLAIN_FEATURES: Features = {
  store: 'memory',
  diskFaults: false,
  drift: 0,
  lag: NO_LAG,
  bandwidth: 0,
  payloadBytes: 0,
  snapshotBytes: 0,
  load: null,
  reads: null,
  membership: false,
};

export function drawFeatures(seed: number, choice: FeatureChoice = DEFAULT_CHOICE): Features {
  const rng = new SimRandom(seed).fork('features');
  // Every value is drawn whatever is on, so forcing one feature leaves the others' draws alone.
  const on = {} as Record<FeatureName, boolean>;
  for (const name of FEATURE_NAMES) {
    const roll = rng.next();
    const drawn = !choice.plain && !(choice.off ?? []).includes(name) && roll < FEATURE_SHARES[name];
    on[name] = choice.forced.includes(name) || drawn;
  }
  const lag: TimerLag = { mean: rng.between(0.05, 2), spikeChance: rng.between(0, 0.003), spikeMax: rng.between(50, 400) };
  const bandwidth = Math.exp(rng.between(Math.log(1000), Math.log(100_000)));
  const payloadBytes = Math.round(Math.exp(rng.between(Math.log(16), Math.log(2048))));
  const snapshotBytes = rng.int(0, 64 * 1024);
  const load = { window: rng.int(4, 32), maxInflight: rng.int(1, 8), maxEntriesPerMsg: rng.pick([1, 4, 16]) };
  const reads = { gap: rng.between(50, 200), leaseShare: 0.5 };
  return {
    store: on.file || on['disk-faults'] ? 'file' : 'memory',
    diskFaults: on['disk-faults'],
    drift: on.drift ? CLOCK_DRIFT : 0,
    lag: on.lag ? lag : NO_LAG,
    bandwidth: on.bandwidth ? bandwidth : 0,
    payloadBytes: on.bandwidth ? payloadBytes : 0,
    snapshotBytes: on.bandwidth ? snapshotBytes : 0,
    load: on.load ? load : null,
    reads: on.reads ? reads : null,
    membership: on.membership,
  };
}

/** One line per seed, for the schedule printout. */
export function describeFeatures(f: Features): string {
  const parts = [f.store === 'file' ? 'FileStorage on a simulated disk' : 'SimStorage'];
  if (f.diskFaults) parts.push('disk faults');
  if (f.drift > 0) parts.push(`clocks drift (±${((Math.sqrt(1 + f.drift) - 1) * 100).toFixed(1)} %)`);
  if (f.lag.mean > 0) parts.push(`timer lag ${f.lag.mean.toFixed(2)} ms, stalls ${(f.lag.spikeChance * 100).toFixed(2)} % up to ${Math.round(f.lag.spikeMax)} ms`);
  if (f.bandwidth > 0) parts.push(`${(f.bandwidth / 1000).toFixed(1)} MB/s links, ${f.payloadBytes} B proposals, ${Math.round(f.snapshotBytes / 1024)} KiB snapshots`);
  if (f.load) parts.push(`load: ${f.load.window} in flight, max in-flight appends ${f.load.maxInflight}, ${f.load.maxEntriesPerMsg} entries per append`);
  if (f.reads) parts.push(`reads every ${Math.round(f.reads.gap)} ms (½ lease)`);
  if (f.membership) parts.push('membership episodes');
  return parts.join('; ');
}

/** The command-line flags that give `choice` (so a failure prints a replay that draws the same). */
export function choiceFlags(choice: FeatureChoice): string {
  const flags = choice.plain ? ['--plain'] : [];
  for (const name of choice.forced) flags.push(`--${name}`);
  return flags.join(' ');
}
