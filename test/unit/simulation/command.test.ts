/** `npm run sim -- --layer cluster …`: parsing, the layer switch, a replay's output and exit codes. */
import { describe, expect, it } from 'vitest';
import { clusterMain, parseClusterCommand, splitLayer } from '../../../src/simulation/index.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await clusterMain(argv, (t) => void (out += t), (t) => void (err += t));
  return { code, out, err };
}

describe('the simulation command line', () => {
  it('takes the layer out of the arguments, raft unless told otherwise', () => {
    expect(splitLayer(['--seeds', '5'])).toEqual({ layer: 'raft', rest: ['--seeds', '5'] });
    expect(splitLayer(['--layer', 'cluster', '--seed', '3'])).toEqual({ layer: 'cluster', rest: ['--seed', '3'] });
    expect(splitLayer(['--seed', '3', '--layer=cluster', '--trace'])).toEqual({ layer: 'cluster', rest: ['--seed', '3', '--trace'] });
  });

  it('parses a batch and a replay, and refuses what does not go together', () => {
    expect(parseClusterCommand(['--seeds', '10', '--from', '5'])).toMatchObject({ kind: 'batch', from: 5, count: 10 });
    expect(parseClusterCommand(['--seed', '7', '--verbose', '--lossy'])).toMatchObject({ kind: 'replay', seed: 7, verbose: true, options: { shape: { network: 'lossy' } } });
    expect(parseClusterCommand(['--seed', '7', '--seeds', '2'])).toBe('give exactly one of --seeds N or --seed S');
    expect(parseClusterCommand(['--seeds', '2', '--verbose'])).toBe('--verbose goes with --seed');
    expect(parseClusterCommand(['--seed', 'x'])).toMatch(/integer/);
    expect(typeof parseClusterCommand(['--nodes', '5'])).toBe('string');
  });

  it('replays a clean seed: its scenario, its digest, exit 0', async () => {
    const { code, out } = await run(['--seed', '3']);
    expect(code).toBe(0);
    expect(out).toMatch(/^seed 3: 3 nodes/);
    expect(out).toMatch(/seed 3 ok: digest [0-9a-f]{16}; \d+\/\d+ runs terminal/);
  });

  it('replays the witnesses of the fixed findings F2 and F3 clean, strict included', async () => {
    for (const seed of ['149', '304', '458']) expect((await run(['--seed', seed, '--strict'])).code).toBe(0);
  });

  it('fails a seed whose violations are not known findings, with the flags to replay it', async () => {
    const { code, out } = await run(['--seed', '2', '--broken-fence']);
    expect(code).toBe(1);
    expect(out).toContain('[invariant 6, write-below-row]');
    expect(out).toContain('replay: npm run sim -- --layer cluster --seed 2 --broken-fence --verbose');
  });

  it('says what is wrong with its usage, exit 2', async () => {
    const { code, err } = await run(['--seeds', '0']);
    expect(code).toBe(2);
    expect(err).toContain('--seeds must be at least 1');
  });
});
