import type { RingAlgorithm } from '../rings/types';

/**
 * Formats rows as a text table: a header, a dashed rule, then the rows, columns two spaces apart.
 * The first column is left-aligned. The others are right-aligned for `'figures'` (so that numbers
 * line up on their last digit) and left-aligned for `'text'`.
 */
export function alignedTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  columns: 'figures' | 'text',
): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (c === 0 || columns === 'text' ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** What one position of a ring of this algorithm is called. */
export function positionUnit(algorithm: RingAlgorithm): string {
  switch (algorithm) {
    case 'ketama':
      return 'points';
    case 'ring_hash':
      return 'entries';
    case 'maglev':
      return 'slots';
    case 'rendezvous':
      return 'members';
  }
}
