import fc from 'fast-check';

/** A member id as the policy makes them: `10.a.b.1:port`. */
export const addressId = fc
  .tuple(
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 1, max: 65535 }),
  )
  .map(([a, b, port]) => `10.${a}.${b}.1:${port}`);

/** The member-list edits the incremental-build suites share (each adds kinds of its own). */
export type ListEdit =
  | { kind: 'add'; id: string; at: number }
  | { kind: 'remove'; at: number; count: number }
  | { kind: 'replace'; id: string; at: number }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'rotate'; by: number };

/**
 * `list` with `edit` applied, as a new array: an id already listed is never added again, and a
 * removal never empties the list. `make` turns an id into an item; `idOf` reads an item's id.
 */
export function applyListEdit<T>(
  list: readonly T[],
  edit: ListEdit,
  idOf: (item: T) => string,
  make: (id: string) => T,
): T[] {
  const out = list.slice();
  const listed = (id: string) => out.some((item) => idOf(item) === id);
  switch (edit.kind) {
    case 'add':
      if (!listed(edit.id)) out.splice(edit.at % (out.length + 1), 0, make(edit.id));
      break;
    case 'remove':
      if (out.length > edit.count) out.splice(edit.at % out.length, edit.count);
      break;
    case 'replace':
      if (!listed(edit.id)) out[edit.at % out.length] = make(edit.id);
      break;
    case 'swap': {
      const a = edit.a % out.length;
      const b = edit.b % out.length;
      [out[a], out[b]] = [out[b]!, out[a]!];
      break;
    }
    case 'rotate':
      return [...out.slice(edit.by % out.length), ...out.slice(0, edit.by % out.length)];
  }
  return out;
}
