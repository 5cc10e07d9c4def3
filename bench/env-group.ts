/**
 * Admission through one EnvGroupActor (issue 16): how many jobs a concurrency group admits per
 * second, and the CPU it costs, with `W` runs' jobs asking at once — each job asks for a slot, is
 * admitted (at once, or from the line by a notice), holds it for no time, and gives it back, so
 * the figure is the group's own cost: the actor runtime's mailbox turns, the line, the answers.
 * No store (`load` absent), so no database round trip is counted here — a run's job writes its
 * slot with its own fenced write, already part of the dispatch figures.
 *
 * Two tables in one run. One node, in process: the real actor system on the system clock, every
 * ask local. Across three (env-group-mesh.ts, which says exactly what is real there): the group on
 * node-1, the asking runs on all three nodes, three actor systems whose remote delivery is the
 * orchestrator's `ActorLinks` over mutual-TLS `PeerLinks` on loopback sockets, in this one process.
 */
import { ActorSystem } from '../src/actors/index.js';
import { systemClock } from '../src/clock/index.js';
import { envGroupRef, registerEnvGroupActor, type SlotNotice } from '../src/environments/index.js';
import { measureAcrossThree, MESH_ASKERS_PER_NODE, MESH_JOBS_PER_NODE, MESH_NODES, type MeshFigures } from './env-group-mesh.js';

const JOBS = 20_000;
const WAITERS = 50;
const ASK_MS = 30_000;

interface Figures {
  limit: number;
  perSecond: number;
  cpuMsPer1000: number;
  queued: number;
}

async function measure(limit: number): Promise<Figures> {
  const system = new ActorSystem({ nodeId: 'bench', clock: systemClock });
  const admitted = new Map<string, () => void>();
  registerEnvGroupActor(system, { notify: (_group, n: SlotNotice) => admitted.get(n.jobId)?.() });
  const group = envGroupRef(system, { orgId: 'bench', group: `production-${limit}` });
  let next = 0;
  let queued = 0;
  const oneJob = async (): Promise<void> => {
    const jobId = `job-${next++}`;
    const ref = { runId: `run-${jobId}`, jobId };
    const turn = new Promise<void>((resolve) => admitted.set(jobId, resolve));
    const answer = await group.ask<{ verdict: string }>({ type: 'request', ...ref, limit, strategy: 'queue', rulesAt: 0 }, ASK_MS);
    if (answer.verdict === 'queued') {
      queued++;
      await turn;
    }
    admitted.delete(jobId);
    group.tell({ type: 'release', ...ref });
  };
  const runner = async () => {
    while (next < JOBS) await oneJob();
  };
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: WAITERS }, runner));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await system.shutdown();
  return { limit, perSecond: JOBS / seconds, cpuMsPer1000: ((used.user + used.system) / 1000 / JOBS) * 1000, queued };
}

const row = (r: Figures): string =>
  `  ${String(r.limit).padStart(5)}   ${r.perSecond.toFixed(0).padStart(10)}   ${r.cpuMsPer1000.toFixed(0).padStart(20)}   ${String(r.queued).padStart(24)}`;

export async function runEnvGroupBench(): Promise<string> {
  await measure(10); // warm-up: JIT and the actor runtime
  const rows = [await measure(1), await measure(10)];
  const mesh: MeshFigures[] = await measureAcrossThree();
  const nodes = MESH_NODES.length;
  const jobs = MESH_JOBS_PER_NODE * nodes;
  const lines = [
    `EnvGroupActor admission, one node in process: ${JOBS} jobs, ${WAITERS} asking at once, each released as soon as admitted`,
    '  limit   admitted/s   CPU ms per 1000 jobs   jobs that waited in line',
    ...rows.map(row),
    '',
    `EnvGroupActor admission across ${nodes} nodes: the group on node-1, ${jobs} jobs asked by runs on all ${nodes} (${MESH_JOBS_PER_NODE} per node,`,
    `${MESH_ASKERS_PER_NODE * nodes} asking at once, ${MESH_ASKERS_PER_NODE} per node), each released as soon as admitted. Real: three actor systems, ActorLinks`,
    '(RemoteDelivery) over mutual-TLS PeerLinks on loopback sockets (msgpackr frames, zod-checked), notices to a `run` actor',
    'on the asking node. Not real: one process and one event loop for all three nodes, a fixed shard map (no Raft),',
    'no store, a stand-in run actor. CPU is the whole process (all three nodes).',
    '  limit   admitted/s   CPU ms per 1000 jobs   jobs that waited in line   actor.deliver requests per job   notices that crossed',
    ...mesh.map((r) => `${row(r)}   ${(r.deliveries / jobs).toFixed(2).padStart(30)}   ${String(r.remoteNotices).padStart(19)}`),
    '',
    ...mesh.map((r) => {
      const one = rows.find((o) => o.limit === r.limit)!;
      return `  limit ${r.limit}: across ${nodes} nodes admits ${(one.perSecond / r.perSecond).toFixed(1)}x fewer jobs per second than one node, at ${(r.cpuMsPer1000 / one.cpuMsPer1000).toFixed(1)}x its CPU per job`;
    }),
  ];
  return lines.join('\n');
}
