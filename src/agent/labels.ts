/** The agent's labels: the operator's, then `os:` and `arch:` of this host, each once. */
export function agentLabels(given: readonly string[], platform: string, arch: string): string[] {
  const all = [...given.map((l) => l.trim()).filter((l) => l !== ''), `os:${platform}`, `arch:${arch}`];
  return [...new Set(all)];
}

/** `--labels a, b,,c` → `['a', 'b', 'c']`. */
export function parseLabelList(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}
