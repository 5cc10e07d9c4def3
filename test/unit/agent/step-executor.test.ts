import { writeFileSync, readFileSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../../src/clock/index.js';
import { JobControl } from '../../../src/agent/job-control.js';
import { executeStep, retryDelayMs, type StepExecution } from '../../../src/agent/step-executor.js';
import type { LogChunkMessage } from '../../../src/agent/log-streamer.js';
import type { StepConfig } from '../../../src/transport/agent-protocol/index.js';
import { alive, makeDispatch, makeTempDirs, sleep, waitFor, type TempDirs } from './fixtures.js';

let dirs: TempDirs;
let chunks: LogChunkMessage[];
const lines = (): string[] => chunks.flatMap((c) => c.lines);

beforeEach(() => {
  dirs = makeTempDirs();
  chunks = [];
});
afterEach(() => dirs.cleanup());

function exec(step: StepConfig, more: Partial<StepExecution> = {}, dispatchOverrides = {}): StepExecution {
  const needsFile = join(dirs.meta, 'needs.json');
  writeFileSync(needsFile, '{}');
  return {
    dispatch: makeDispatch(dispatchOverrides),
    step,
    index: 0,
    checkoutDir: dirs.checkout,
    metaDir: dirs.meta,
    needsFile,
    hostEnv: process.env,
    control: new JobControl(30_000),
    clock: systemClock,
    sendLog: (c) => chunks.push(c),
    ...more,
  };
}

describe('step environment', () => {
  const secretNames = ['KICI_AGENT_TOKEN', 'KICI_ADMIN_TOKEN', 'KICI_DATABASE_URL'];
  beforeEach(() => {
    for (const name of secretNames) process.env[name] = `leak-${name}`;
    process.env.SOME_AGENT_VAR = 'agent-only';
  });
  afterEach(() => {
    for (const name of [...secretNames, 'SOME_AGENT_VAR']) delete process.env[name];
  });

  it('never shows the agent its own secrets or other variables', async () => {
    const outcome = await executeStep(exec({ run: 'env' }));
    expect(outcome.state).toBe('success');
    const text = lines().join('\n');
    for (const name of [...secretNames, 'SOME_AGENT_VAR']) expect(text).not.toContain(name);
    expect(text).not.toContain('leak-');
    expect(text).toMatch(/^PATH=/m);
  });

  it('layers source → job → step env and puts KICI_* metadata on top', async () => {
    const script = [
      'echo "A=$A B=$B C=$C"',
      'echo "run=$KICI_RUN_ID job=$KICI_JOB_ID name=$KICI_JOB_NAME wf=$KICI_WORKFLOW attempt=$KICI_ATTEMPT"',
      'echo "event=$KICI_EVENT repo=$KICI_REPO ref=$KICI_REF branch=$KICI_BRANCH sha=$KICI_SHA"',
      'echo "matrix=$KICI_MATRIX_NODE_VERSION needs=$KICI_NEEDS_LINT_STYLE_SCORE"',
      'test -f "$KICI_NEEDS_FILE" && test -f "$KICI_OUTPUT" && echo files-ok',
    ].join('\n');
    const outcome = await executeStep(
      exec(
        { run: script, env: { C: 'step', KICI_RUN_ID: 'spoofed' } },
        {},
        {
          env: { A: 'source', B: 'source', C: 'source', KICI_SHA: 'spoofed' },
          jobConfig: { name: 'build', steps: [{ run: 'x' }], env: { B: 'job', C: 'job', KICI_MATRIX_NODE_VERSION: 'spoofed' } },
          matrix: { 'node-version': '22' },
          needs: { 'lint-style': { status: 'success', outputs: { score: '10' } } },
          attempt: 2,
        },
      ),
    );
    expect(outcome.state).toBe('success');
    expect(lines()).toEqual([
      'A=source B=job C=step',
      'run=run-1 job=job-1 name=build wf=ci attempt=2',
      `event=push repo=local/repo ref=refs/heads/main branch=main sha=${'a'.repeat(40)}`,
      'matrix=22 needs=10',
      'files-ok',
    ]);
  });

  it('turns KICI_OUTPUT lines into the step outputs', async () => {
    const outcome = await executeStep(
      exec({ run: 'echo "version=1.2.3" >> "$KICI_OUTPUT"; echo "eq=a=b" >> "$KICI_OUTPUT"; echo junk >> "$KICI_OUTPUT"' }),
    );
    expect(outcome.outputs).toEqual({ version: '1.2.3', eq: 'a=b' });
  });
});

describe('step execution', () => {
  it('runs bash with -eo pipefail', async () => {
    const piped = await executeStep(exec({ run: 'false | true\necho not-reached' }));
    expect(piped.state).toBe('failed');
    expect(piped.exitCode).toBe(1);
    expect(lines()).not.toContain('not-reached');
  });

  it('runs in the working directory inside the checkout and refuses one outside it', async () => {
    mkdirSync(join(dirs.checkout, 'sub'));
    const ok = await executeStep(exec({ run: 'pwd', workingDirectory: 'sub' }));
    expect(ok.state).toBe('success');
    expect(lines()[0]).toMatch(/\/checkout\/sub$/);

    const escape = await executeStep(exec({ run: 'pwd', workingDirectory: '../meta' }));
    expect(escape.state).toBe('failed');
    expect(escape.error).toContain('outside the checkout');

    symlinkSync(dirs.meta, join(dirs.checkout, 'link'));
    const viaLink = await executeStep(exec({ run: 'pwd', workingDirectory: 'link' }));
    expect(viaLink.error).toContain('outside the checkout');
  });

  it('passes the script as a file to a custom shell', async () => {
    const outcome = await executeStep(exec({ run: 'print("from python" if False else "from sh")', shell: 'cat' }));
    expect(outcome.state).toBe('success');
    expect(lines()).toEqual(['print("from python" if False else "from sh")']);
  });

  it('kills the whole process group on timeout, a background child too', async () => {
    const pidFile = join(dirs.meta, 'child.pid');
    const outcome = await executeStep(exec({ run: `sleep 30 & echo $! > ${pidFile}; wait`, timeout: 300 }));
    expect(outcome.state).toBe('failed');
    expect(outcome.error).toContain('timed out');
    const childPid = Number(readFileSync(pidFile, 'utf8'));
    await waitFor(() => !alive(childPid), 5000, 'child sleep to die');
  });

  it('retries with backoff and reports the attempts', async () => {
    const counter = join(dirs.meta, 'count');
    const run = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo "try=$n" >> "$KICI_OUTPUT"; [ $n -ge 3 ]`;
    const outcome = await executeStep(exec({ run, retry: { maxAttempts: 3, delayMs: 10, backoff: 'exponential' } }));
    expect(outcome.state).toBe('success');
    expect(outcome.attempts).toBe(3);
    expect(outcome.outputs).toEqual({ try: '3' });
    expect(lines().filter((l) => l.includes('retrying in'))).toEqual([
      '[kici] attempt 1 of 3 failed (exit code 1); retrying in 10 ms',
      '[kici] attempt 2 of 3 failed (exit code 1); retrying in 20 ms',
    ]);
  });

  it('stops retrying when attempts run out', async () => {
    const outcome = await executeStep(exec({ run: 'exit 7', retry: { maxAttempts: 2, delayMs: 0, backoff: 'fixed' } }));
    expect(outcome).toMatchObject({ state: 'failed', exitCode: 7, attempts: 2 });
  });

  it('computes backoff delays', () => {
    expect(retryDelayMs({ maxAttempts: 5, delayMs: 100, backoff: 'fixed' }, 3)).toBe(100);
    expect(retryDelayMs({ maxAttempts: 5, delayMs: 100, backoff: 'exponential' }, 1)).toBe(100);
    expect(retryDelayMs({ maxAttempts: 5, delayMs: 100, backoff: 'exponential' }, 4)).toBe(800);
    expect(retryDelayMs({ maxAttempts: 5, delayMs: 100, backoff: 'exponential', maxDelayMs: 250 }, 4)).toBe(250);
  });

  it('graceful cancel sends SIGTERM, then SIGKILL after the grace period', async () => {
    // Virtual time: the SIGKILL can only come from advancing past the grace period.
    const clock = new ManualClock(0);
    const control = new JobControl(300);
    const marker = join(dirs.meta, 'term');
    const pidFile = join(dirs.meta, 'pid');
    const run = `set +e; trap 'echo got-term > ${marker}' TERM; echo $$ > ${pidFile}; while true; do sleep 0.05; done`;
    const pending = executeStep(exec({ run }, { control, clock }));
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'), 5000, 'step start');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    control.stop({ kind: 'cancel', reason: 'user', force: false });
    await waitFor(() => existsSync(marker), 5000, 'SIGTERM to arrive');
    await sleep(100);
    expect(alive(pid)).toBe(true);
    clock.advance(300);
    const outcome = await pending;
    expect(outcome.state).toBe('cancelled');
    expect(outcome.error).toBe('cancelled: user');
    expect(alive(pid)).toBe(false);
  });

  it('force cancel kills at once and skips the grace period', async () => {
    const control = new JobControl(60_000);
    const pending = executeStep(exec({ run: `trap '' TERM; echo ready; sleep 30` }, { control }));
    await waitFor(() => lines().includes('ready'), 5000, 'step start');
    control.stop({ kind: 'cancel', reason: 'user', force: true });
    const outcome = await pending;
    expect(outcome.state).toBe('cancelled');
  });
});

describe('step log streaming', () => {
  it('batches lines at 50 and caps a step with one truncation notice', async () => {
    const outcome = await executeStep(
      exec({ run: 'for i in $(seq 1 120); do echo "line-$i"; done; printf tail-no-newline' }),
    );
    expect(outcome.state).toBe('success');
    expect(chunks[0]?.lines.length).toBe(50);
    expect(lines()).toHaveLength(121);
    expect(lines().at(-1)).toBe('tail-no-newline');

    chunks = [];
    const capped = await executeStep(
      exec({ run: 'for i in $(seq 1 100); do echo "0123456789"; done' }, {}, { maxLogSizeBytes: 55 }),
    );
    expect(capped.state).toBe('success');
    expect(lines()).toHaveLength(6);
    expect(lines().at(-1)).toContain('log truncated');
  });

  it('flushes a partial batch after 100 ms of virtual time', async () => {
    const { StepLogStreamer } = await import('../../../src/agent/log-streamer.js');
    const clock = new ManualClock(0);
    const streamer = new StepLogStreamer({ runId: 'r', jobId: 'j', stepIndex: 2, maxBytes: 1000, clock, send: (c) => chunks.push(c) });
    streamer.write('stdout', Buffer.from('one\ntw'));
    streamer.write('stderr', Buffer.from('err\n'));
    expect(chunks).toHaveLength(0);
    clock.advance(100);
    expect(chunks.map((c) => c.lines)).toEqual([['one', 'err']]);
    streamer.write('stdout', Buffer.from('o\n'));
    streamer.finish();
    expect(chunks.map((c) => c.lines)).toEqual([['one', 'err'], ['two']]);
    expect(chunks[1]?.stepIndex).toBe(2);
  });

  it('sends a batch early when its bytes add up, and cuts endless lines', async () => {
    const { StepLogStreamer } = await import('../../../src/agent/log-streamer.js');
    const clock = new ManualClock(0);
    const streamer = new StepLogStreamer({ runId: 'r', jobId: 'j', stepIndex: 0, maxBytes: 1e9, clock, send: (c) => chunks.push(c), batchBytes: 100 });
    streamer.write('stdout', Buffer.from(`${'x'.repeat(60)}\n${'y'.repeat(60)}\n`));
    expect(chunks).toHaveLength(1);
    streamer.write('stdout', Buffer.from('z'.repeat(40_000)));
    streamer.finish();
    expect(lines().slice(2).map((l) => l.length)).toEqual([16384, 16384, 40_000 - 2 * 16384]);
  });
});
