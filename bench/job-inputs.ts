/**
 * A job's inputs at dispatch (issue 17): what it costs to resolve an environment's variables (with
 * a source's overrides) and the secrets a job's steps name, as the RunActor asks before every
 * dispatch — on a real PostgreSQL, through the orchestrator's own `jobInputSource`, with the
 * secrets in the database (sealed with the master key) and, in a second row, in a Vault KV v2
 * backend (the test stand-in on loopback, speaking Vault's HTTP API; no network between them).
 * One resolve at a time, so the figures are latency, not throughput; database round trips counted
 * at the driver.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { systemClock } from '../src/clock/index.js';
import { createDatabaseSecretStore, createSecretBackends, parseSecretKey } from '../src/secrets/index.js';
import { jobInputSource } from '../src/server/index.js';
import { openStore, SYSTEM_ACTOR, type Store } from '../src/store/index.js';
import { testPostgres } from '../test/support/postgres.js';
import { VaultStandIn } from '../test/support/vault-standin.js';
import { percentile } from './cluster-kit.js';

const RESOLVES = 400;
const WARM_UP = 50;
const VARIABLES = 20;
const SECRETS = 5;
const ORG = 'bench';

interface Row {
  what: string;
  p50: number;
  p99: number;
  roundTrips: number;
}

export async function runJobInputsBench(): Promise<string> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kici-bench-inputs-'));
  const store = await openStore({ url: await (await testPostgres()).createDatabase(), dataDir });
  const vault = await VaultStandIn.start();
  try {
    await store.migrations.migrate();
    const key = parseSecretKey(randomBytes(32).toString('hex'));
    const secrets = createDatabaseSecretStore(store.sealedSecrets, { current: key }, systemClock);
    const backends = createSecretBackends({ repository: store.secretBackends, keys: { current: key }, clock: systemClock });
    const { environmentId, sourceId } = await seed(store, secrets, vault);
    await backends.add({ name: 'bench-vault', config: { url: vault.url, auth: { method: 'token', token: vault.token }, mountPath: 'secret', basePath: 'kici' } }, SYSTEM_ACTOR);
    const source = jobInputSource(store, secrets, backends);
    const names = Array.from({ length: SECRETS }, (_, i) => `SECRET_${i}`);
    const vaultNames = Array.from({ length: SECRETS }, (_, i) => `VAULT_${i}`);
    const request = (secretNames: string[]) => ({ orgId: ORG, sourceId, environmentIds: [environmentId], secretNames });
    const rows = [
      await measure(store, `${VARIABLES} variables + overrides, no secret`, () => source.resolve(request([]))),
      await measure(store, `the same + ${SECRETS} secrets from PostgreSQL`, () => source.resolve(request(names))),
      await measure(store, `the same + ${SECRETS} secrets from Vault`, () => source.resolve(request(vaultNames))),
    ];
    return [
      `Job inputs at dispatch (one environment, ${RESOLVES} resolves one after another, PostgreSQL 15, the Vault stand-in on loopback)`,
      '  what                                              p50 ms   p99 ms   DB round trips',
      ...rows.map((r) => `  ${r.what.padEnd(48)}  ${r.p50.toFixed(2).padStart(6)}   ${r.p99.toFixed(2).padStart(6)}   ${r.roundTrips.toFixed(1).padStart(14)}`),
    ].join('\n');
  } finally {
    await vault.stop();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** One environment with variables, a source's overrides, and secrets in both backends, bound. */
async function seed(store: Store, secrets: ReturnType<typeof createDatabaseSecretStore>, vault: VaultStandIn) {
  const now = new Date();
  const env = await store.environments.create({ orgId: ORG, name: 'production' }, now);
  for (let i = 0; i < VARIABLES; i++) await store.environmentVariables.setVariable(env, { key: `VAR_${i}`, value: `value-${i}`, locked: i % 5 === 0 }, now);
  // The source a run came through; its overrides replace the unlocked ones among the first five.
  const sourceId = 'src_bench';
  for (let i = 0; i < 5; i++) await store.environmentVariables.setOverride(env, { routingKey: sourceId, key: `VAR_${i}`, value: `override-${i}` }, now);
  for (let i = 0; i < SECRETS; i++) await secrets.put(ORG, i % 2 === 0 ? 'deploy/prod' : 'deploy', `SECRET_${i}`, `s-${randomBytes(8).toString('hex')}`);
  vault.put(`kici/${ORG}/vault/prod`, Object.fromEntries(Array.from({ length: SECRETS }, (_, i) => [`VAULT_${i}`, `v-${i}`])));
  await store.environmentBindings.create({ environment: env, scopePattern: 'deploy/**', backend: 'pg' }, SYSTEM_ACTOR, now);
  await store.environmentBindings.create({ environment: env, scopePattern: 'vault/**', backend: 'bench-vault' }, SYSTEM_ACTOR, now);
  return { environmentId: env.id, sourceId };
}

async function measure(store: Store, what: string, resolve: () => Promise<unknown>): Promise<Row> {
  for (let i = 0; i < WARM_UP; i++) await resolve();
  const before = store.statements().roundTrips;
  const times: number[] = [];
  for (let i = 0; i < RESOLVES; i++) {
    const started = performance.now();
    await resolve();
    times.push(performance.now() - started);
  }
  return { what, p50: percentile(times, 0.5), p99: percentile(times, 0.99), roundTrips: (store.statements().roundTrips - before) / RESOLVES };
}
