/** Levenshtein distance between two short strings. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Lowercase without `_` and `-`, so `hash_header`, `hashheader` and `Hash-Header` compare equal. */
function fold(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '');
}

/**
 * The candidate a mistyped `name` most likely meant, for a "did you mean" hint: equal up to case and
 * separators, else the nearest by edit distance within about a third of its length; `null` if none is close.
 */
export function closestName(name: string, candidates: readonly string[]): string | null {
  const folded = fold(name);
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(folded, fold(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.max(2, Math.floor(folded.length / 3));
  return bestDistance <= limit ? best : null;
}
