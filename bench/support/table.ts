import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A row of a printed table: column name to value. */
export type Row = Record<string, string | number>;

/** Prints rows as an aligned plain-text table under a title. */
export function printTable(title: string, rows: readonly Row[]): void {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: string | number | undefined) =>
    v === undefined ? '' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v;
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padStart(widths[i]!)).join('  ');
  console.log(`\n${title}`);
  console.log(line(columns));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(columns.map((c) => cell(r[c]))));
}

/** Writes `bench/results/<name>.json` with the data and the machine it ran on; returns the path. */
export function writeResults(name: string, data: object): string {
  const dir = path.join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  const machine = {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    date: new Date().toISOString(),
  };
  writeFileSync(file, `${JSON.stringify({ machine, ...data }, null, 2)}\n`);
  return file;
}

/** The median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Runs each named case `rounds` times, interleaved (A B C A B C ...), and returns each case's
 * median of the per-round values the case reports (e.g. ns per operation).
 */
export function interleavedMedians(
  cases: Record<string, () => number>,
  rounds: number,
): Record<string, number> {
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(cases)) samples[name] = [];
  for (let r = 0; r < rounds; r++)
    for (const [name, run] of Object.entries(cases)) samples[name]!.push(run());
  const out: Record<string, number> = {};
  for (const [name, values] of Object.entries(samples)) out[name] = median(values);
  return out;
}

/** 36-character keys shaped like UUIDs, deterministic. */
export function uuidLikeKeys(count: number): string[] {
  const keys: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const a = (Math.imul(i + 1, 2654435761) >>> 0).toString(16).padStart(8, '0');
    const b = (Math.imul(i + 7, 40503) >>> 0).toString(16).padStart(12, '0').slice(0, 12);
    // Flattened: a template literal builds a V8 cons string, which costs extra to read char by
    // char; keys a service gets from JSON, a database or the wire are flat strings.
    keys[i] = Buffer.from(`${a}-${a.slice(0, 4)}-4${a.slice(5, 8)}-8${b.slice(0, 3)}-${b}`).toString();
  }
  return keys;
}
