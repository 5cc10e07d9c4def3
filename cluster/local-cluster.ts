/**
 * `npm run cluster`: a three-coordinator kici cluster with one edge worker and four agents on
 * loopback, on a throw-away PostgreSQL, every process real (the same programs a deployment runs,
 * from dist/). It prints each node's HTTP URL and cluster address, the admin token and kici-admin
 * commands to try, then runs until Ctrl-C or SIGTERM, when it stops the agents, the edge worker,
 * the coordinators and PostgreSQL, in that order, and removes its temp directory (`-- --keep`
 * keeps it, with every log).
 *
 * Node 1 makes the cluster (it alone is given the database URL); nodes 2 and 3 join it with
 * single-use join tokens through node 1's cluster port and take the database from the join. The
 * edge worker `edge-1` joins with a worker token and dials all three coordinators' cluster ports
 * (as a worker behind NAT would: it is never dialled). Agents 1 and 2 connect to coordinators,
 * agents 3 and 4 to the worker, so jobs run both beside their runs' owners and behind a worker.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { postgresStopShell, startLocalPostgres, type LocalPostgres } from './postgres.js';
import { agreedLeader, binPath, Coordinator, EdgeWorker, KiciProcess, portOr, startAgent, Supervisor, waitUntil } from './processes.js';

const COORDINATORS = 3;
const AGENTS = 4;
/** Agents 1 and 2 connect to coordinators; the rest to the edge worker. */
const AGENTS_ON_COORDINATORS = 2;
/**
 * Ports tried first (HTTP 4100, 4110, 4120; cluster port one above; the edge worker's HTTP port
 * 4130); any free port when taken.
 */
const BASE_PORT = 4100;

const USAGE = `usage: npm run cluster [-- --keep]

Starts PostgreSQL, 3 kici coordinators, 1 edge worker and 4 agents on 127.0.0.1 and runs until Ctrl-C.
  --keep   keep the temp directory (data and logs) after stopping
`;

interface Running {
  root: string;
  keep: boolean;
  supervisor?: Supervisor;
  postgres?: LocalPostgres;
  nodes: Coordinator[];
  worker?: EdgeWorker;
  agents: KiciProcess[];
}

const say = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

async function start(run: Running): Promise<void> {
  const { root } = run;
  const pgDir = path.join(root, 'postgres');
  const cleanup = `${postgresStopShell(pgDir)}; ${run.keep ? 'true' : `rm -rf '${root}'`}`;
  const supervisor = new Supervisor(path.join(root, 'run'), cleanup);
  run.supervisor = supervisor;

  say(`kici local cluster: ${COORDINATORS} coordinators, 1 edge worker, ${AGENTS} agents, PostgreSQL, all under ${root}`);
  say('starting PostgreSQL …');
  run.postgres = await startLocalPostgres(pgDir);

  const nodes: Coordinator[] = [];
  for (let i = 0; i < COORDINATORS; i++) {
    const httpPort = await portOr(BASE_PORT + 10 * i);
    const clusterPort = await portOr(BASE_PORT + 10 * i + 1);
    nodes.push(
      new Coordinator(
        { name: `node-${i + 1}`, dataDir: path.join(root, `node-${i + 1}`), httpPort, clusterPort, detached: true },
        supervisor,
      ),
    );
  }
  run.nodes = nodes;
  const [founder, ...joiners] = nodes;
  founder.spec.databaseUrl = run.postgres.url;
  say(`starting ${founder.name} (makes the cluster) …`);
  await founder.start();
  for (const n of joiners) {
    n.spec.join = { token: await founder.joinToken(), peers: [founder.address] };
    n.spec.adminToken = founder.adminToken;
  }
  say(`starting ${joiners.map((n) => n.name).join(' and ')} (join with tokens through ${founder.address}) …`);
  await Promise.all(joiners.map((n) => n.start()));
  const health = await agreedLeader(nodes, nodes.map((n) => n.name), 90_000);

  const worker = await startWorker(run, founder, nodes);

  say(`starting ${AGENTS} agents …`);
  const placement: [string, Coordinator | EdgeWorker][] = [];
  for (let i = 0; i < AGENTS; i++) {
    const name = `agent-${i + 1}`;
    const host = i < AGENTS_ON_COORDINATORS ? nodes[i % nodes.length] : worker;
    // A worker admits a token made since its last cluster view by asking a coordinator.
    const { token } = await founder.api<{ token: string }>('POST', '/agent-tokens', { name });
    run.agents.push(startAgent({ name, url: host.wsUrl, token, workDir: path.join(root, name, 'work'), logFile: path.join(root, `${name}.log`), detached: true }, supervisor));
    placement.push([name, host]);
  }
  await agentsConnected(run, nodes, worker);

  const admin = `node ${path.relative(process.cwd(), binPath('kici-admin'))}`;
  const token = founder.adminToken;
  const pad = (s: string, n: number) => s.padEnd(n);
  say();
  say(`PostgreSQL   ${run.postgres.url}   (log ${run.postgres.logFile})`);
  say();
  say(`${pad('node', 8)} ${pad('HTTP URL', 24)} ${pad('cluster address', 17)} ${pad('pid', 8)} log`);
  for (const n of nodes) {
    const mark = health.leader?.node === n.name ? ' (leader)' : '';
    say(`${pad(n.name, 8)} ${pad(n.url, 24)} ${pad(n.address, 17)} ${pad(String(n.proc?.pid ?? ''), 8)} ${n.logFile}${mark}`);
  }
  // A worker has no cluster address: it is never dialled.
  say(`${pad(worker.name, 8)} ${pad(worker.url, 24)} ${pad('(dials out)', 17)} ${pad(String(worker.proc?.pid ?? ''), 8)} ${worker.logFile} (edge worker)`);
  say();
  say(`agents       ${placement.map(([a, n]) => `${a} → ${n.name}`).join(', ')}   (logs ${root}/agent-N.log)`);
  say(`leader       ${health.leader?.node} at ${health.leader?.address}, term ${health.term}`);
  say();
  say(`admin token  ${token}`);
  say('             (one token for every node: they share the database)');
  say();
  say('Try, in another terminal (from the repository root):');
  say(`  export KICI_ADMIN_TOKEN=${token}`);
  say(`  ${admin} --url ${founder.url} --token "$KICI_ADMIN_TOKEN" cluster status      (${worker.name}'s HELD column: reports waiting in its outbox)`);
  say(`  ${admin} --url ${nodes[1].url} --token "$KICI_ADMIN_TOKEN" peer list`);
  say(`  ${admin} --url ${nodes[1].url} --token "$KICI_ADMIN_TOKEN" agent list          (the agents connected to ${nodes[1].name})`);
  say(`  ${admin} --url ${founder.url} --token "$KICI_ADMIN_TOKEN" peer create-token --role coordinator`);
  say(`  curl -s ${nodes[1].url}/cluster/health`);
  say(`  curl -s ${worker.url}/ready          (${worker.name}: the coordinators it reaches, what its outbox holds)`);
  const leader = nodes.find((n) => n.name === health.leader?.node);
  if (leader) say(`  failover: kill -9 ${leader.proc?.pid}   (the leader, ${leader.name}); the others elect a new one; it stays down`);
  say();
  say('Ctrl-C (or SIGTERM) stops the agents, the edge worker, the coordinators and PostgreSQL.');

  for (const p of [...nodes.map((n) => n.proc!), worker.proc!, ...run.agents]) {
    void p.exited.then(({ code, signal }) => {
      if (!stopping) say(`${p.name} (pid ${p.pid}) exited (${signal ?? `code ${code}`}); see ${p.logFile}`);
    });
  }
}

/** `edge-1`, joined with a worker token from the founder, dialling every coordinator's cluster port; resolves once it reaches one. */
async function startWorker(run: Running, founder: Coordinator, nodes: Coordinator[]): Promise<EdgeWorker> {
  const name = 'edge-1';
  const worker = new EdgeWorker(
    {
      name,
      dataDir: path.join(run.root, name),
      httpPort: await portOr(BASE_PORT + 10 * COORDINATORS),
      coordinators: nodes.map((n) => n.address),
      joinToken: await founder.joinToken('worker'),
      detached: true,
    },
    run.supervisor!,
  );
  run.worker = worker;
  say(`starting ${name} (an edge worker: joins with a worker token, dials ${nodes.map((n) => n.address).join(', ')}) …`);
  await worker.start();
  return worker;
}

/** Every agent registered: those on coordinators in their `GET /agents`, those on the worker in its gauge. */
async function agentsConnected(run: Running, nodes: Coordinator[], worker: EdgeWorker): Promise<void> {
  await waitUntil(
    `${AGENTS} agents to connect`,
    async () => {
      for (const a of run.agents) if (!a.running) throw new Error(`${a.name} exited:\n${a.tail()}`);
      const counts = await Promise.all(nodes.map(async (n) => (await n.api<{ agents: unknown[] }>('GET', '/agents')).agents.length));
      counts.push(await worker.agentsConnected());
      return counts.reduce((x, y) => x + y, 0) === AGENTS ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

let stopping = false;

/** Agents, then the edge worker, then coordinators (followers first, the leader last), then PostgreSQL; then the temp directory. */
async function shutdown(run: Running): Promise<void> {
  await Promise.all(run.agents.map((a) => a.stop(10_000)));
  await run.worker?.stop(15_000);
  const views = await Promise.all(run.nodes.map((n) => (n.running ? n.health(1000).catch(() => undefined) : undefined)));
  const leader = views.find((v) => v?.leader)?.leader?.node;
  await Promise.all(run.nodes.filter((n) => n.name !== leader).map((n) => n.stop(15_000)));
  await Promise.all(run.nodes.filter((n) => n.name === leader).map((n) => n.stop(15_000)));
  run.supervisor?.killAllSync();
  if (run.postgres) {
    try {
      await run.postgres.stop();
    } catch (e) {
      say(`PostgreSQL did not stop cleanly: ${(e as Error).message}`);
    }
  }
  run.supervisor?.release();
  if (run.keep) say(`kept ${run.root} (data and logs)`);
  else rmSync(run.root, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(USAGE);
    return;
  }
  const unknown = args.filter((a) => a !== '--keep');
  if (unknown.length) {
    process.stderr.write(`unknown argument: ${unknown.join(' ')}\n\n${USAGE}`);
    process.exit(2);
  }
  const root = mkdtempSync(path.join(tmpdir(), 'kici-local-cluster-'));
  // The postgres user must reach root/postgres.
  chmodSync(root, 0o755);
  const run: Running = { root, keep: args.includes('--keep'), nodes: [], agents: [] };

  let done!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (done = resolve));
  const stop = (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    say(`\n${why}: stopping the agents, the edge worker, the coordinators and PostgreSQL …`);
    shutdown(run).then(
      () => {
        say('stopped.');
        done(code);
      },
      (e: Error) => {
        process.stderr.write(`stopping failed: ${e.stack ?? e.message}\n`);
        done(1);
      },
    );
  };
  // npm passes Ctrl-C on to us and the terminal sends it too: the first signal stops, repeats are ignored.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal, 0));
  // `kill <npm pid>`: npm hands SIGTERM to the `sh -c` running this script, which dies without
  // passing it on; this process is then re-parented. Treat that as the signal it was meant to get.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop('parent process gone', 0);
  }, 500).unref();

  start(run).catch((e: Error) => {
    if (stopping) return;
    process.stderr.write(`\nkici local cluster failed to start: ${e.message}\n`);
    for (const n of [...run.nodes, ...(run.worker ? [run.worker] : [])]) if (n.proc && !n.running) process.stderr.write(`--- ${n.name} (${n.logFile}):\n${n.proc.tail(15)}\n`);
    stop('failed', 1);
  });
  process.exit(await finished);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
