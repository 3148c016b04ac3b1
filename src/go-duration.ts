const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
/** One `<number><unit>` term; `ms` is tried before `m`. */
const TERM = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/;

/**
 * Parses a Go duration string as Consul and etcd write them (`"10s"`, `"1m30s"`, `"250ms"`)
 * into milliseconds. Returns `null` when the text is not a valid non-negative duration.
 * A bare `"0"` is accepted, as Go does.
 */
export function parseGoDuration(text: string): number | null {
  if (text === '0') return 0;
  if (text === '') return null;
  let rest = text;
  let total = 0;
  while (rest.length > 0) {
    const match = TERM.exec(rest);
    if (match === null) return null;
    const value = Number(match[1]);
    if (!Number.isFinite(value)) return null;
    total += value * UNIT_MS[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return Number.isFinite(total) ? total : null;
}
