import { InvalidArgumentError } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';

// Bad usage must be refused before anything starts: a scenario run here would be a bug, so the
// module that starts clusters is replaced by one that fails the test if called.
const runScenario = vi.hoisted(() => vi.fn(async () => {
  throw new Error('runScenario must not be called on bad usage');
}));
vi.mock('../../../chaos/scenario-run.js', () => ({ runScenario }));
const writeCampaign = vi.hoisted(() => vi.fn(async () => {
  throw new Error('writeCampaign must not be called on bad usage');
}));
vi.mock('../../../chaos/report-files.js', () => ({ writeCampaign }));

const { main, parseDuration } = await import('../../../chaos/cli.js');
const { SCENARIOS } = await import('../../../chaos/scenarios.js');

describe('parseDuration', () => {
  it('reads seconds, minutes, milliseconds and bare seconds', () => {
    expect(parseDuration('60s')).toBe(60_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('100m')).toBe(6_000_000);
    expect(parseDuration('5000ms')).toBe(5_000);
    expect(parseDuration('7500ms')).toBe(7_500);
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('5s')).toBe(5_000);
    expect(parseDuration('0.5m')).toBe(30_000);
    expect(parseDuration('12.5s')).toBe(12_500);
    expect(parseDuration(' 30s ')).toBe(30_000);
    expect(parseDuration('1440m')).toBe(24 * 3600_000);
    expect(parseDuration('2h')).toBe(2 * 3600_000);
  });

  it('refuses what is not a duration', () => {
    for (const text of ['abc', '', 's', '-5s', '5 s', '1e4', '10sec', '1.s', '+5s']) {
      expect(() => parseDuration(text), JSON.stringify(text)).toThrow(InvalidArgumentError);
      expect(() => parseDuration(text), JSON.stringify(text)).toThrow(/a duration such as 60s/);
    }
  });

  it('refuses durations under 5 s or over 24 h', () => {
    for (const text of ['1s', '1500ms', '4999ms', '0', '0s', '1441m', '86401s', '25h']) {
      expect(() => parseDuration(text), text).toThrow(InvalidArgumentError);
      expect(() => parseDuration(text), text).toThrow('between 5s and 24h');
    }
  });
});

describe('main', () => {
  let stderr: MockInstance<typeof process.stderr.write>;
  let stdout: MockInstance<typeof process.stdout.write>;
  const err = () => stderr.mock.calls.map((c) => String(c[0])).join('');
  const out = () => stdout.mock.calls.map((c) => String(c[0])).join('');

  beforeEach(() => {
    stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    runScenario.mockClear();
    writeCampaign.mockClear();
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Exit 2, nothing started, nothing announced on stdout, the problem named on stderr. */
  async function refused(argv: string[], problem: RegExp | string): Promise<void> {
    const code = await main(argv);
    const where = argv.join(' ');
    expect(code, where).toBe(2);
    expect(runScenario, where).not.toHaveBeenCalled();
    expect(writeCampaign, where).not.toHaveBeenCalled();
    expect(out(), where).not.toContain('chaos campaign');
    if (typeof problem === 'string') expect(err(), where).toContain(problem);
    else expect(err(), where).toMatch(problem);
    // The usage follows the problem.
    expect(err(), where).toContain('--scenario <name>');
  }

  it('refuses to run with neither a scenario nor a profile', async () => {
    await refused([], 'error: say --scenario NAME|all or --profile NAME');
    await refused(['--seed', '3'], 'say --scenario NAME|all or --profile NAME');
  });

  it('refuses an unknown scenario, naming it', async () => {
    await refused(['--scenario', 'earthquake'], 'error: no scenario "earthquake" (--list shows them)');
  });

  it('refuses an unknown profile, naming it and the ones there are', async () => {
    await refused(['--profile', 'nightly'], 'error: no profile "nightly" (there is: ci)');
    // Even with a scenario given: the profile is still checked.
    await refused(['--scenario', 'crash', '--profile', 'nightly'], 'no profile "nightly"');
  });

  it('refuses --nodes 0, naming the option and the range', async () => {
    await refused(['--scenario', 'crash', '--nodes', '0'], /--nodes <n>.*'0' is invalid\. a whole number from 1 to 7/);
    await refused(['--scenario', 'crash', '--nodes', '8'], /--nodes <n>.*'8' is invalid/);
    await refused(['--scenario', 'crash', '--nodes', '2.5'], /--nodes <n>.*'2\.5' is invalid/);
  });

  it('refuses --seed -1, naming the option and the range', async () => {
    await refused(['--scenario', 'crash', '--seed', '-1'], /--seed <n>.*'-1' is invalid\. a whole number from 0 to 4294967295/);
    await refused(['--scenario', 'crash', '--seed', '4294967296'], /--seed <n>.*'4294967296' is invalid/);
  });

  it('refuses other bad options before starting', async () => {
    await refused(['--scenario', 'crash', '--duration', '1s'], /--duration <time>.*'1s' is invalid\. between 5s and 24h/);
    await refused(['--scenario', 'crash', '--duration', 'abc'], /--duration <time>.*'abc' is invalid/);
    await refused(['--scenario', 'crash', '--workers', '5'], /--workers <n>.*'5' is invalid/);
    await refused(['--scenario', 'crash', '--agents', '0'], /--agents <n>.*'0' is invalid/);
    await refused(['--scenario', 'crash', '--rate', '0'], /--rate <n>.*'0' is invalid/);
    await refused(['--scenario', 'crash', '--bogus'], /unknown option '--bogus'/);
    await refused(['--scenario'], /option '--scenario <name>' argument missing/);
  });

  it('lists every scenario with --list, and starts nothing', async () => {
    const code = await main(['--list']);
    expect(code).toBe(0);
    expect(runScenario).not.toHaveBeenCalled();
    expect(err()).toBe('');
    const lines = out().trimEnd().split('\n');
    expect(lines).toHaveLength(SCENARIOS.size);
    const named = lines.map((l) => l.split(/\s+/)[0]);
    expect(named).toEqual([...SCENARIOS.keys()]);
    for (const [name, s] of SCENARIOS) expect(out(), name).toContain(s.description);
  });

  it('lists even when the rest of the line would be refused', async () => {
    // --list wins over a missing scenario; it is checked before the plan.
    expect(await main(['--list', '--profile', 'nightly'])).toBe(0);
    expect(runScenario).not.toHaveBeenCalled();
  });
});
