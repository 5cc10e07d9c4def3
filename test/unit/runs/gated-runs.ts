/**
 * A RunActor with environment gates on one node, for the gate and hold unit tests: the run
 * domain's MemoryRunStore and MemoryEnvironmentStore, a real EnvGroupActor, a recording
 * dispatcher, a manual clock, and the coordinator's run sweeps (hold expiry among them).
 */
import { ActorSystem, type ActorFailure } from '../../../src/actors/index.js';
import { ManualClock } from '../../../src/clock/index.js';
import {
  MemoryEnvironmentStore,
  envGroupRef,
  registerEnvGroupActor,
  type EnvGroupMessage,
  type EnvGroupSnapshot,
  type NewEnvironment,
} from '../../../src/environments/index.js';
import {
  MemoryRunStore,
  RUN_ACTOR_KIND,
  runActorFactory,
  runRef,
  runSweeps,
  type EnvironmentGatePorts,
  type JobInputSource,
  type RunMessage,
  type RunReply,
} from '../../../src/runs/index.js';
import { RecordingDispatcher, planRun } from './run-fixtures.js';

export const ORG = 'acme';

export interface GatedPlan {
  runId: string;
  branch?: string;
  environments?: string[];
  concurrencyGroup?: string;
  /** A second job needing the gated one. */
  withDependent?: boolean;
}

/** `store`: the run store to use (default: a fresh MemoryRunStore); `inputs`: the job input source, if any. */
export function harness(options: { store?: MemoryRunStore; inputs?: JobInputSource } = {}) {
  const clock = new ManualClock(1_000_000);
  const store = options.store ?? new MemoryRunStore();
  const envs = new MemoryEnvironmentStore();
  const dispatcher = new RecordingDispatcher();
  const failures: ActorFailure[] = [];
  /** Gated jobs dispatched and not ended, at every change: never above the limit. */
  const active = new Set<string>();
  let mostActive = 0;
  const boot = () => {
    const system = new ActorSystem({ nodeId: 'n1', clock, onError: (f) => failures.push(f), shardMap: { ownerOf: () => ({ node: 'n1', epoch: 1 }) } });
    const group = (orgId: string, name: string) => envGroupRef(system, { orgId, group: name });
    registerEnvGroupActor(system, {
      notify: (g, n) => runRef(system, n.runId).tell({ type: 'env_slot', jobId: n.jobId, group: g.group, verdict: n.verdict, reason: n.reason }),
      load: (g) => store.environmentSlots(g.orgId, g.group),
    });
    const environments: EnvironmentGatePorts = {
      list: (orgId) => envs.list(orgId),
      request: (orgId, name, r) => group(orgId, name).ask({ type: 'request', ...r }, 60_000),
      release: (orgId, name, job) => group(orgId, name).tell({ type: 'release', ...job }),
    };
    const observer = {
      jobChanged: (_run: unknown, job: { id: string; status: string }) => {
        if (job.status === 'queued' || job.status === 'running') active.add(job.id);
        else active.delete(job.id);
        mostActive = Math.max(mostActive, active.size);
      },
    };
    system.register(RUN_ACTOR_KIND, runActorFactory({ store, dispatcher, environments, observer, inputs: options.inputs }));
    return system;
  };
  let system = boot();
  const send = (runId: string, msg: RunMessage) => system.ref<RunMessage>(RUN_ACTOR_KIND, runId).ask<RunReply>(msg, 600_000);
  const env = (input: Omit<NewEnvironment, 'orgId'>) => envs.create({ orgId: ORG, ...input }, new Date(clock.now()));
  const addRun = (p: GatedPlan) => {
    const deploy = `${p.runId}-deploy`;
    const plan = planRun(p.runId, [{ id: deploy }, ...(p.withDependent ? [{ id: `${p.runId}-after`, needs: [deploy] }] : [])]);
    const branch = p.branch ?? 'main';
    Object.assign(plan.run, { orgId: ORG, branch, event: { type: 'push', branch, repo: 'acme/app' } });
    Object.assign(plan.jobs[0]!.config as object, { environments: p.environments, concurrencyGroup: p.concurrencyGroup });
    store.add(plan);
    return deploy;
  };
  const job = (runId: string, jobId: string) => store.job(runId, jobId);
  const finish = async (runId: string, jobId: string) => {
    await send(runId, { type: 'job_started', jobId, agentId: 'agent-1' });
    return send(runId, { type: 'job_finished', jobId, status: 'success', agentId: 'agent-1' });
  };
  const snapshot = (name: string) => system.ref<EnvGroupMessage>('env-group', JSON.stringify([ORG, name])).ask<EnvGroupSnapshot>({ type: 'snapshot' }, 1000);
  const restart = async () => {
    await system.shutdown();
    system = boot();
  };
  /** The coordinator's hold-expiry duty, once. */
  const expiryScan = async () => {
    const sweep = runSweeps(store, system, { staleThresholdMs: 60_000, staleScanIntervalMs: 10_000, clock }).find((s) => s.name === 'hold-expiry');
    await sweep!.run();
    await flush();
  };
  return {
    clock,
    expiryScan,
    envs,
    store,
    dispatcher,
    failures,
    env,
    addRun,
    send,
    job,
    finish,
    snapshot,
    restart,
    mostActive: () => mostActive,
    system: () => system,
  };
}

export async function flush(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise((resolve) => setImmediate(resolve));
}
