/** How kici-admin prints: `--json` prints the API's objects as they are; otherwise aligned columns. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cells = rows.map((r) => columns.map((c) => format(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  process.stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const row of cells) process.stdout.write(`${line(row)}\n`);
}

export function printFields(obj: Record<string, unknown>, keys?: string[]): void {
  const entries = (keys ?? Object.keys(obj)).filter((k) => obj[k] !== undefined && typeof obj[k] !== 'object');
  const width = Math.max(...entries.map((k) => k.length));
  for (const k of entries) process.stdout.write(`${k.padEnd(width)}  ${format(obj[k])}\n`);
}

function format(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return v.join(',');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
