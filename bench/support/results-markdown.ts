// Prints the tables in bench/results/*.json as markdown, for docs/performance.md.
// Run: node --import tsx bench/support/results-markdown.ts
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

type Cell = string | number;
type Row = Record<string, Cell>;

const dir = path.join(__dirname, '..', 'results');

function cell(value: Cell | undefined): string {
  if (value === undefined) return '';
  if (typeof value !== 'number') return String(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

/** A markdown table of the rows; numbers right-aligned. */
export function markdownTable(rows: readonly Row[]): string {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const numeric = columns.map((c) => rows.every((r) => r[c] === undefined || typeof r[c] === 'number'));
  const lines = [
    `| ${columns.join(' | ')} |`,
    `| ${numeric.map((n) => (n ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${columns.map((c) => cell(r[c])).join(' | ')} |`),
  ];
  return lines.join('\n');
}

if (require.main === module && existsSync(dir)) {
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const data = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown>;
    const machine = data.machine as Record<string, Cell> | undefined;
    console.log(
      `\n### ${file}${machine ? ` (${machine.date}, Node ${machine.node}, ${machine.cpuModel} × ${machine.cpus})` : ''}`,
    );
    for (const [key, value] of Object.entries(data)) {
      if (Array.isArray(value) && value.length > 0 && typeof value[0] === 'object') {
        console.log(`\n${key}:\n\n${markdownTable(value as Row[])}`);
      }
    }
  }
}
