// Prints the body of compress2 (two interleaved, unrolled MD5 compressions, RFC 1321) for
// src/rings/md5.ts. Run: node scripts/generate-md5-compress.mjs, then paste between the braces.
const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const K = Array.from({ length: 64 }, (_, i) => {
  const v = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32);
  return v >= 2 ** 31 ? v - 2 ** 32 : v;
});
function steps(v, xp) {
  const out = [];
  for (let i = 0; i < 64; i++) {
    const r = i >> 4;
    const [A, B, C, D] = [v[(64 - i) % 4], v[(65 - i) % 4], v[(66 - i) % 4], v[(67 - i) % 4]];
    let f, g;
    if (r === 0) {
      f = `(${D} ^ (${B} & (${C} ^ ${D})))`;
      g = i;
    } else if (r === 1) {
      f = `(${C} ^ (${D} & (${B} ^ ${C})))`;
      g = (5 * i + 1) & 15;
    } else if (r === 2) {
      f = `(${B} ^ ${C} ^ ${D})`;
      g = (3 * i + 5) & 15;
    } else {
      f = `(${C} ^ (${B} | ~${D}))`;
      g = (7 * i) & 15;
    }
    const s = S[(r << 2) | (i & 3)];
    const k = K[i] < 0 ? ` - ${-K[i]}` : ` + ${K[i]}`;
    out.push([
      `  ${A} = (${A} + ${f} + ${xp}${g}${k}) | 0;`,
      `  ${A} = (((${A} << ${s}) | (${A} >>> ${32 - s})) + ${B}) | 0;`,
    ]);
  }
  return out;
}
const lanes = [
  ['a', 'b', 'c', 'd'],
  ['e', 'f', 'g', 'h'],
];
const st = [steps(lanes[0], 'x'), steps(lanes[1], 'y')];
const L = [];
for (let k = 0; k < 16; k++) L.push(`  const x${k} = x[o${k ? ` + ${k}` : ''}]!;`);
for (let k = 0; k < 16; k++) L.push(`  const y${k} = x[p${k ? ` + ${k}` : ''}]!;`);
L.push(
  '  let a = s[0]!;',
  '  let b = s[1]!;',
  '  let c = s[2]!;',
  '  let d = s[3]!;',
  '  let e = s[4]!;',
  '  let f = s[5]!;',
  '  let g = s[6]!;',
  '  let h = s[7]!;',
);
for (let i = 0; i < 64; i++) L.push(st[0][i][0], st[1][i][0], st[0][i][1], st[1][i][1]);
for (const [j, v] of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].entries())
  L.push(`  s[${j}] = (s[${j}]! + ${v}) | 0;`);
console.log(L.join('\n'));
