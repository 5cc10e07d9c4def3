/**
 * The layers of a step's environment (DESIGN §5b), later winning: host allowlist → the job's
 * environments' variables (the frame's `env`) → job `env` → step `env` → the secrets this step
 * names → KICI_* metadata, which nothing overrides.
 */
import { describe, expect, it } from 'vitest';
import { buildStepEnv } from '../../../src/agent/index.js';
import type { JobDispatch, StepConfig } from '../../../src/transport/index.js';
import { makeDispatch } from './fixtures.js';

function envOf(step: StepConfig, dispatch: Partial<JobDispatch> = {}) {
  const base = makeDispatch();
  return buildStepEnv({
    host: { PATH: '/usr/bin', DATABASE_URL: 'postgres://secret', HOME: '/home/ci' },
    dispatch: { ...base, env: { LAYER: 'environment', API_URL: 'https://env' }, jobConfig: { ...base.jobConfig, env: { LAYER: 'job' } }, ...dispatch },
    step,
    needsFile: '/n',
    outputFile: '/o',
  });
}

describe('a step\u2019s environment', () => {
  it('stacks the layers, later winning, and takes nothing else from the host', () => {
    const env = envOf({ run: 'true', env: { STEP_ONLY: '1' } });
    expect(env).toMatchObject({ PATH: '/usr/bin', HOME: '/home/ci', API_URL: 'https://env', LAYER: 'job', STEP_ONLY: '1' });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(envOf({ run: 'true', env: { LAYER: 'step' } }).LAYER).toBe('step');
  });

  it('gives a step the secrets it names, over every other layer but KICI_*, and no others', () => {
    const dispatch = { secrets: { DEPLOY_KEY: 'k-123', TOKEN: 't-456', LAYER: 'secret' } };
    const named = envOf({ run: 'true', env: { LAYER: 'step' }, secrets: ['DEPLOY_KEY', 'LAYER'] }, dispatch);
    expect(named).toMatchObject({ DEPLOY_KEY: 'k-123', LAYER: 'secret' });
    expect(named.TOKEN).toBeUndefined();
    const other = envOf({ run: 'true' }, dispatch);
    expect(Object.values(other)).not.toContain('k-123');
    expect(Object.values(other)).not.toContain('t-456');
  });

  it('KICI_* run metadata cannot be replaced by any layer, a secret included', () => {
    const env = envOf({ run: 'true', env: { KICI_RUN_ID: 'spoofed' }, secrets: ['KICI_JOB_ID'] }, { env: { KICI_ATTEMPT: '99' }, secrets: { KICI_JOB_ID: 'spoofed' } });
    const base = makeDispatch();
    expect(env).toMatchObject({ KICI_RUN_ID: base.runId, KICI_JOB_ID: base.jobId, KICI_ATTEMPT: String(base.attempt) });
  });
});
