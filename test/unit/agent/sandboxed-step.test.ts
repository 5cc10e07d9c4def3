import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../../src/clock/index.js';
import { JobControl } from '../../../src/agent/job-control.js';
import type { LogChunkMessage } from '../../../src/agent/log-streamer.js';
import { BwrapSandbox, chooseSandbox, findProgram } from '../../../src/agent/sandbox/index.js';
import { executeStep, type StepExecution } from '../../../src/agent/step-executor.js';
import type { StepConfig } from '../../../src/transport/agent-protocol/index.js';
import { makeDispatch, waitFor } from './fixtures.js';

/**
 * Steps run through the real executor under a real bubblewrap, laid out as the agent lays out a
 * job. Everything lives under /var/tmp, not /tmp: the sandbox's private /tmp would hide anything
 * under /tmp whether or not the hiding under test works.
 */
const usable = chooseSandbox({ mode: 'bwrap', hidden: [], hostEnv: process.env });
const TOKEN = `kat_sandbox_unit_${randomBytes(8).toString('hex')}`;
const ADMIN_TOKEN = `kadm_${randomBytes(8).toString('hex')}`;
const SECRET_KEY = randomBytes(32).toString('hex');

let base: string;
let paths: { work: string; tokenFile: string; data: string; sibling: string; hostHome: string; hostTmp: string };
let sandbox: BwrapSandbox;
/** Stands in for an agent started with its token in its environment and on its command line. */
let holder: ChildProcess;

beforeAll(() => {
  if (!usable.ok) return;
  base = realpathSync(mkdtempSync('/var/tmp/kici-sandbox-unit-'));
  paths = {
    work: join(base, 'agent'),
    tokenFile: join(base, 'secrets', 'token'),
    data: join(base, 'data'),
    sibling: join(base, 'agent', 'jobs', 'other-job-1234'),
    hostHome: join(base, 'host-home'),
    hostTmp: join(base, 'host-tmp'),
  };
  for (const d of [paths.work, join(base, 'secrets'), paths.data, join(paths.sibling, 'checkout'), paths.hostHome, paths.hostTmp]) {
    mkdirSync(d, { recursive: true });
  }
  writeFileSync(paths.tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  writeFileSync(join(paths.work, 'agent-id'), 'agent-under-test\n');
  writeFileSync(join(paths.data, 'admin-token'), `${ADMIN_TOKEN}\n`, { mode: 0o600 });
  writeFileSync(join(paths.data, 'secret.key'), `${SECRET_KEY}\n`, { mode: 0o600 });
  writeFileSync(join(paths.sibling, 'checkout', 'secret.txt'), 'other-job-secret\n');
  const PATH = process.env.PATH;
  sandbox = new BwrapSandbox(
    { bwrap: findProgram('bwrap', PATH) as string, env: findProgram('env', PATH) as string },
    [paths.work, join(base, 'secrets'), paths.data],
  );
  holder = spawn('bash', ['-c', 'sleep 600; :', 'kici-agent', '--token', TOKEN], { env: { PATH, KICI_AGENT_TOKEN: TOKEN }, stdio: 'ignore' });
});

afterAll(() => {
  holder?.kill('SIGKILL');
  if (base) rmSync(base, { recursive: true, force: true });
});

let job: { root: string; checkout: string; meta: string; home: string; needsFile: string };
let chunks: LogChunkMessage[];
const text = (): string => chunks.flatMap((c) => c.lines).join('\n');

beforeEach(() => {
  if (!usable.ok) return;
  chunks = [];
  const root = mkdtempSync(join(paths.work, 'jobs', 'job-1-'));
  job = { root, checkout: join(root, 'checkout'), meta: join(root, 'meta'), home: join(root, 'home'), needsFile: join(root, 'meta', 'needs.json') };
  for (const d of [job.checkout, job.meta, job.home]) mkdirSync(d);
  writeFileSync(job.needsFile, JSON.stringify({ lint: { status: 'success', outputs: { score: '10' } } }));
});
afterEach(() => {
  if (job) rmSync(job.root, { recursive: true, force: true });
});

/** The environment the agent lives in: its token among the rest, which must not reach a step. */
function hostEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: paths.hostHome, TMPDIR: paths.hostTmp, LANG: 'C.UTF-8', KICI_AGENT_TOKEN: TOKEN };
}

function exec(step: StepConfig, more: Partial<StepExecution> = {}): StepExecution {
  return {
    dispatch: makeDispatch({ needs: { lint: { status: 'success', outputs: { score: '10' } } } }),
    step: { ...step, env: { ...step.env, WORK_DIR: paths.work, TOKEN_FILE: paths.tokenFile, DATA_DIR: paths.data, SIBLING: paths.sibling, BASE: base } },
    index: 0,
    checkoutDir: job.checkout,
    metaDir: job.meta,
    needsFile: job.needsFile,
    sandbox: { box: sandbox, homeDir: job.home },
    hostEnv: hostEnv(),
    control: new JobControl(30_000),
    clock: systemClock,
    sendLog: (c) => chunks.push(c),
    ...more,
  };
}

/** Host pids of `sleep <arg>` processes (the sandbox hides them from steps, not from us). */
function sleeping(arg: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8') === `sleep\0${arg}\0`) found.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const SNOOP = [
  'set +e',
  'echo "pids: $(cd /proc && echo [0-9]*)"',
  'echo "jobs: $(ls "$WORK_DIR/jobs" 2>&1)"',
  'for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do tr "\\0" "\\n" < "$f"; echo; done 2>/dev/null | sed "s/^/proc: /"',
  'for p in "$TOKEN_FILE" "$WORK_DIR/agent-id" "$SIBLING/checkout/secret.txt" "$DATA_DIR/admin-token" "$DATA_DIR/secret.key"; do',
  '  if c=$(cat "$p" 2>/dev/null); then echo "readable: $p: $c"; else echo "unreadable: $p"; fi',
  'done',
  'grep -rIs . "$WORK_DIR" "$(dirname "$TOKEN_FILE")" "$DATA_DIR" | sed "s/^/found: /"',
  'for pid in $AGENT_PIDS; do if kill -0 "$pid" 2>/dev/null; then echo "signalable: $pid"; else echo "unreachable: $pid"; fi; done',
].join('\n');

describe.skipIf(!usable.ok)('a sandboxed step', () => {
  it('finds the agent token in no /proc entry and no file it can read, and cannot see or signal the agent', async () => {
    const agentPids = `${process.pid} ${holder.pid}`;
    const outcome = await executeStep(exec({ run: SNOOP, env: { AGENT_PIDS: agentPids } }));
    expect(outcome.state, text()).toBe('success');
    const seen = text();
    // The snooping did work: it read the sandbox's own processes.
    expect(seen).toContain('proc: KICI_JOB_ID=job-1');
    for (const secret of [TOKEN, ADMIN_TOKEN, SECRET_KEY, 'other-job-secret', 'agent-under-test']) expect(seen).not.toContain(secret);
    for (const p of [paths.tokenFile, join(paths.work, 'agent-id'), join(paths.sibling, 'checkout/secret.txt'), join(paths.data, 'admin-token'), join(paths.data, 'secret.key')]) {
      expect(seen).toContain(`unreadable: ${p}`);
    }
    // Its own job directory, and no other.
    expect(seen).toContain(`jobs: ${job.root.split('/').pop()}`);
    expect(seen).toContain(`unreachable: ${process.pid}`);
    expect(seen).toContain(`unreachable: ${holder.pid}`);
    const pids = /^pids: (.*)$/m.exec(seen)?.[1]?.split(' ').map(Number) ?? [];
    expect(pids.length).toBeGreaterThan(0);
    expect(pids).not.toContain(process.pid);
    expect(pids).not.toContain(holder.pid);

    // The same snooping without the sandbox finds all of it: the checks above can fail.
    chunks = [];
    const bare = await executeStep(exec({ run: SNOOP, env: { AGENT_PIDS: agentPids } }, { sandbox: undefined }));
    expect(bare.state).toBe('success');
    const unboxed = text();
    expect(unboxed).toContain(`proc: KICI_AGENT_TOKEN=${TOKEN}`);
    expect(unboxed).toContain(`readable: ${paths.tokenFile}: ${TOKEN}`);
    expect(unboxed).toContain(`readable: ${join(paths.data, 'secret.key')}: ${SECRET_KEY}`);
    expect(unboxed).toContain('other-job-secret');
    expect(unboxed).toContain(`signalable: ${process.pid}`);
  });

  it('writes only to its checkout, /tmp, $TMPDIR and HOME, and only the checkout reaches the host', async () => {
    const probe = `probe-${randomBytes(6).toString('hex')}`;
    const refusedDirs = ['/etc', '/root', '/usr/local', paths.work, join(paths.work, 'jobs'), job.root, job.meta, paths.data, base];
    const ownDirs = [job.checkout, '/tmp', paths.hostTmp, paths.hostHome];
    const run = [
      'set +e',
      // With any capability left (bwrap as root keeps them unless told), this would make /etc writable.
      'mount -o remount,rw,bind /etc 2>/dev/null && echo "remounted /etc"',
      'grep CapEff /proc/self/status',
      `for d in ${[...refusedDirs, ...ownDirs].map((d) => `"${d}"`).join(' ')}; do`,
      `  if echo x > "$d/${probe}" 2>/dev/null; then echo "wrote: $d"; else echo "refused: $d"; fi`,
      'done',
      'if echo x >> "$KICI_NEEDS_FILE" 2>/dev/null; then echo "wrote: needs"; else echo "refused: needs"; fi',
      'echo "tmpdir=$TMPDIR home=$HOME"',
    ].join('\n');
    try {
      const outcome = await executeStep(exec({ run }));
      expect(outcome.state, text()).toBe('success');
      const seen = text();
      expect(seen).not.toContain('remounted /etc');
      expect(seen).toMatch(/^CapEff:\s+0+$/m);
      for (const d of refusedDirs) expect(seen).toContain(`refused: ${d}`);
      for (const d of ownDirs) expect(seen).toContain(`wrote: ${d}`);
      expect(seen).toContain('refused: needs');
      expect(seen).toContain(`tmpdir=${paths.hostTmp} home=${paths.hostHome}`);
      // On the host: the checkout got its file; the home write went to the job's own home; nothing else.
      expect(existsSync(join(job.checkout, probe))).toBe(true);
      expect(existsSync(join(job.home, probe))).toBe(true);
      for (const d of [...refusedDirs, '/tmp', paths.hostTmp, paths.hostHome]) expect(existsSync(join(d, probe)), d).toBe(false);
      expect(JSON.parse(readFileSync(job.needsFile, 'utf8'))).toEqual({ lint: { status: 'success', outputs: { score: '10' } } });
    } finally {
      // Only if the sandbox failed would these exist; don't leave them behind.
      for (const d of refusedDirs) rmSync(join(d, probe), { force: true });
    }
  });

  it('keeps one private HOME for all the steps of a job', async () => {
    const first = await executeStep(exec({ run: 'mkdir -p ~/.npm && echo cached-by-step-1 > ~/.npm/entry' }));
    expect(first.state, text()).toBe('success');
    const second = await executeStep(exec({ run: 'cat ~/.npm/entry' }, { index: 1 }));
    expect(second.state, text()).toBe('success');
    expect(text()).toContain('cached-by-step-1');
    expect(existsSync(join(paths.hostHome, '.npm'))).toBe(false);
    expect(readFileSync(join(job.home, '.npm', 'entry'), 'utf8')).toBe('cached-by-step-1\n');
  });

  it('gets its own files: outputs, the needs document, and the script of a custom shell', async () => {
    const outcome = await executeStep(
      exec({ run: 'echo "version=1.2.3" >> "$KICI_OUTPUT"\necho "needs=$(cat "$KICI_NEEDS_FILE")"\necho "score=$KICI_NEEDS_LINT_SCORE"', shell: 'bash -e {0}' }),
    );
    expect(outcome.state, text()).toBe('success');
    expect(outcome.outputs).toEqual({ version: '1.2.3' });
    expect(text()).toContain('needs={"lint":{"status":"success","outputs":{"score":"10"}}}');
    expect(text()).toContain('score=10');
  });

  it('keeps bash -eo pipefail and exit codes as they are', async () => {
    const piped = await executeStep(exec({ run: 'false | true\necho not-reached' }));
    expect(piped).toMatchObject({ state: 'failed', exitCode: 1 });
    expect(text()).not.toContain('not-reached');
    const seven = await executeStep(exec({ run: 'exit 7' }));
    expect(seven).toMatchObject({ state: 'failed', exitCode: 7, error: 'exit code 7' });
  });
});

describe.skipIf(!usable.ok)('stopping a sandboxed step', () => {
  it('graceful cancel: the step traps SIGTERM and lives on until the grace period ends, then all of it is killed', async () => {
    // Virtual time: the SIGKILL can only come from advancing past the grace period. Log lines wait
    // for virtual time too, so the step reports through files in its checkout.
    const clock = new ManualClock(0);
    const control = new JobControl(300);
    const marker = `31.${randomBytes(3).readUIntBE(0, 3)}`;
    const at = (name: string): string => join(job.checkout, name);
    const run = `set +e; sleep ${marker} & trap 'touch got-term; termed=1' TERM; touch ready; while true; do [ -n "$termed" ] && touch still-alive; sleep 0.05; done`;
    const pending = executeStep(exec({ run }, { control, clock }));
    await waitFor(() => existsSync(at('ready')), 10_000, 'step start');
    // `touch ready` can run before the forked child has become `sleep`: wait for it to show.
    await waitFor(() => sleeping(marker).length === 1, 10_000, 'the background sleep to start');
    control.stop({ kind: 'cancel', reason: 'user', force: false });
    await waitFor(() => existsSync(at('still-alive')), 10_000, 'the step to carry on after its SIGTERM trap');
    expect(existsSync(at('got-term'))).toBe(true);
    clock.advance(300);
    const outcome = await pending;
    expect(outcome).toMatchObject({ state: 'cancelled', error: 'cancelled: user' });
    await waitFor(() => sleeping(marker).length === 0, 5000, 'the background sleep to be gone');
  });

  it('graceful cancel: a trap that cleans up and exits ends the step with its own exit code', async () => {
    const control = new JobControl(60_000);
    const pending = executeStep(exec({ run: `trap 'echo cleaning-up; exit 3' TERM; echo ready; sleep 30 & wait` }, { control }));
    await waitFor(() => text().includes('ready'), 10_000, 'step start');
    control.stop({ kind: 'cancel', reason: 'user', force: false });
    const outcome = await pending;
    expect(outcome).toMatchObject({ state: 'cancelled', exitCode: 3 });
    expect(text()).toContain('cleaning-up');
  });

  it('force cancel kills at once, a step that ignores SIGTERM too', async () => {
    const control = new JobControl(60_000);
    const marker = `32.${randomBytes(3).readUIntBE(0, 3)}`;
    const pending = executeStep(exec({ run: `trap '' TERM; echo ready; sleep ${marker}` }, { control }));
    await waitFor(() => text().includes('ready'), 10_000, 'step start');
    control.stop({ kind: 'cancel', reason: 'user', force: true });
    const outcome = await pending;
    expect(outcome.state).toBe('cancelled');
    // Far below the 60 s grace period: it did not wait for it.
    expect(outcome.durationMs).toBeLessThan(20_000);
    expect(sleeping(marker)).toEqual([]);
  });

  it('a timeout kills the step, its background children, and even one that left for its own session', async () => {
    const a = `33.${randomBytes(3).readUIntBE(0, 3)}`;
    const b = `34.${randomBytes(3).readUIntBE(0, 3)}`;
    const pending = executeStep(exec({ run: `sleep ${a} & setsid sleep ${b} & echo ready; wait`, timeout: 1500 }));
    await waitFor(() => text().includes('ready'), 10_000, 'step start');
    await waitFor(() => sleeping(b).length === 1, 5000, 'the setsid sleep to start');
    const outcome = await pending;
    expect(outcome.state).toBe('failed');
    expect(outcome.error).toContain('timed out');
    await waitFor(() => sleeping(a).length === 0 && sleeping(b).length === 0, 5000, 'both sleeps to be gone');
  });
});
