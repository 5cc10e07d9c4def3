/**
 * Static matrix expansion: cartesian product over the dimensions (names sorted), then excludes,
 * then includes. Children are named `base (v1, v2)` with values in sorted key order, so the same
 * lock file always yields the same children in the same order.
 */
import type { Matrix, MatrixEntry } from './lockfile-schema.js';

export const MAX_MATRIX_CHILDREN = 256;
/** Past this many raw combinations we refuse before enumerating, whatever excludes would remove. */
const MAX_RAW_COMBINATIONS = 65_536;
const RESERVED_KEYS = new Set(['include', 'exclude']);

export interface MatrixChild {
  /** `(20, 1)`: the values in sorted key order; the child is named `<job> <suffix>`. */
  suffix: string;
  values: Record<string, string>;
}

export class MatrixError extends Error {
  override name = 'MatrixError';
}

export function matrixDimensionNames(matrix: Matrix): string[] {
  return Object.keys(matrix)
    .filter((key) => !RESERVED_KEYS.has(key))
    .sort();
}

export function matrixChildName(baseName: string, child: MatrixChild): string {
  return `${baseName} ${child.suffix}`;
}

/** Expands a matrix into its children; throws MatrixError for zero or too many children. */
export function expandMatrix(matrix: Matrix): MatrixChild[] {
  const dimensions = matrixDimensionNames(matrix).map((name) => [name, matrix[name] as string[]] as const);
  const raw = dimensions.length === 0 ? 0 : dimensions.reduce((n, [, values]) => n * values.length, 1);
  if (raw > MAX_RAW_COMBINATIONS) {
    throw new MatrixError(`matrix has ${raw} combinations (at most ${MAX_MATRIX_CHILDREN} children)`);
  }
  const excludes = (matrix.exclude ?? []).filter(isNonEmpty);
  const combinations = cartesian(dimensions).filter((combo) => !excludes.some((ex) => covers(combo, ex)));
  for (const include of (matrix.include ?? []).filter(isNonEmpty)) {
    if (!combinations.some((combo) => sameEntry(combo, include))) combinations.push({ ...include });
  }
  if (combinations.length === 0) throw new MatrixError('matrix expands to zero children');
  if (combinations.length > MAX_MATRIX_CHILDREN) {
    throw new MatrixError(`matrix expands to ${combinations.length} children (at most ${MAX_MATRIX_CHILDREN})`);
  }
  return uniquelyNamed(combinations.map(toChild));
}

/** The reason a matrix cannot be expanded, or null when it can. */
export function matrixProblem(matrix: Matrix): string | null {
  try {
    expandMatrix(matrix);
    return null;
  } catch (error) {
    if (error instanceof MatrixError) return error.message;
    throw error;
  }
}

function cartesian(dimensions: (readonly [string, string[]])[]): MatrixEntry[] {
  if (dimensions.length === 0) return [];
  let combos: MatrixEntry[] = [{}];
  for (const [name, values] of dimensions) {
    combos = combos.flatMap((combo) => values.map((value) => ({ ...combo, [name]: value })));
  }
  return combos;
}

function isNonEmpty(entry: MatrixEntry): boolean {
  return Object.keys(entry).length > 0;
}

function covers(combo: MatrixEntry, exclude: MatrixEntry): boolean {
  return Object.entries(exclude).every(([key, value]) => combo[key] === value);
}

function sameEntry(a: MatrixEntry, b: MatrixEntry): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

function toChild(values: MatrixEntry): MatrixChild {
  const ordered = Object.keys(values).sort().map((key) => values[key]);
  return { suffix: `(${ordered.join(', ')})`, values: { ...values } };
}

function uniquelyNamed(children: MatrixChild[]): MatrixChild[] {
  const seen = new Set<string>();
  for (const child of children) {
    if (seen.has(child.suffix)) throw new MatrixError(`two matrix children share the name suffix ${child.suffix}`);
    seen.add(child.suffix);
  }
  return children;
}
