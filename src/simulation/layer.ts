/** Which simulator `npm run sim` runs: `--layer X` or `--layer=X` taken out of argv; raft unless it says otherwise. */
export function splitLayer(argv: readonly string[]): { layer: string; rest: string[] } {
  const rest: string[] = [];
  let layer = 'raft';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--layer') layer = argv[++i] ?? '';
    else if (a.startsWith('--layer=')) layer = a.slice('--layer='.length);
    else rest.push(a);
  }
  return { layer, rest };
}
