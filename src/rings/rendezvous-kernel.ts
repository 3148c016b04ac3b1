/**
 * The rendezvous per-member loop: for a 32-bit key hash k and member seeds s[i] (uint64),
 * v[i] = fmix64(s[i] XOR k) >>> 12, the member's 52-bit draw. MurmurHash3's fmix64 needs
 * 64-bit multiplies, which JavaScript emulates on 32-bit halves at about 20 ns a member; a
 * 330-byte WebAssembly module does them natively, branch-free, at about 2.5–3.5 ns (measured at
 * N = 50–200). Both compute the same values: the JavaScript loop is the fallback where
 * WebAssembly is unavailable (node --jitless) or the host is big-endian, and tests hold the two to
 * each other and to a BigInt reference.
 */

/** fmix64's multipliers as 32-bit halves; the low halves also as 16-bit limbs, for an exact high product. */
const C1_HI = 0xff51afd7;
const C1_LO = 0xed558ccd;
const C2_HI = 0xc4ceb9fe;
const C2_LO = 0x1a85ec53;
const C1_LO0 = C1_LO & 0xffff;
const C1_LO1 = C1_LO >>> 16;
const C2_LO0 = C2_LO & 0xffff;
const C2_LO1 = C2_LO >>> 16;
const INV_2_16 = 1 / 65536;
const TWO_20 = 1048576;

/** v = fmix64((hi:lo) XOR (0:k)) >>> 12 as an exact double in [0, 2^52), computed on 32-bit halves. */
export function rendezvousDraw(seedHi: number, seedLo: number, k: number): number {
  let h = seedHi | 0;
  let l = (seedLo ^ k) | 0;
  // x ^= x >>> 33
  l ^= h >>> 1;
  // x *= C1 (mod 2^64): high = mulhi(l, C1_LO) + l*C1_HI + h*C1_LO (mod 2^32)
  let lu = l >>> 0;
  let mh = Math.floor((lu * C1_LO1 + Math.floor(lu * C1_LO0 * INV_2_16)) * INV_2_16);
  h = (mh + Math.imul(l, C1_HI) + Math.imul(h, C1_LO)) | 0;
  l = Math.imul(l, C1_LO);
  l ^= h >>> 1;
  lu = l >>> 0;
  mh = Math.floor((lu * C2_LO1 + Math.floor(lu * C2_LO0 * INV_2_16)) * INV_2_16);
  h = (mh + Math.imul(l, C2_HI) + Math.imul(h, C2_LO)) | 0;
  l = Math.imul(l, C2_LO);
  l ^= h >>> 1;
  return (h >>> 0) * TWO_20 + (l >>> 12);
}

/** Computes members' draws for one key hash and finds the largest. */
export interface RendezvousKernel {
  /** The first index with the largest draw for key hash `k` (uint32). */
  best(k: number): number;
  /** Writes every member's draw for `k` into {@link draws}. */
  fill(k: number): void;
  /** Draws written by {@link fill}, indexed like the seeds; valid until the next call. */
  readonly draws: Float64Array;
}

/** The JavaScript kernel over seeds given as hi/lo halves. */
export class JsRendezvousKernel implements RendezvousKernel {
  readonly draws: Float64Array;

  constructor(
    private readonly seedHi: Int32Array,
    private readonly seedLo: Int32Array,
  ) {
    this.draws = new Float64Array(seedHi.length);
  }

  best(k: number): number {
    const his = this.seedHi;
    const los = this.seedLo;
    let best = 0;
    let bestDraw = -1;
    for (let i = 0; i < his.length; i++) {
      const draw = rendezvousDraw(his[i]!, los[i]!, k);
      if (draw > bestDraw) {
        bestDraw = draw;
        best = i;
      }
    }
    return best;
  }

  fill(k: number): void {
    const his = this.seedHi;
    const los = this.seedLo;
    const draws = this.draws;
    for (let i = 0; i < his.length; i++) draws[i] = rendezvousDraw(his[i]!, los[i]!, k);
  }
}

// --- WebAssembly kernel -------------------------------------------------------------------------
// Exports: memory; best(k: i32, n: i32) -> i32; fill(k: i32, n: i32). Seeds are n little-endian
// u64 at offset 0; fill writes n f64 draws at offset 8n. The body of both functions, per member i:
//   x = i64.load(8i) ^ extend_u(k); x ^= x >> 33; x *= C1; x ^= x >> 33; x *= C2; x ^= x >> 33; v = x >> 12
// best keeps the first i with the largest v (strict >); fill stores f64.convert_u(v).

/** Signed LEB128 of a 64-bit value given as a BigInt (module assembly only, once). */
function sleb64(value: bigint): number[] {
  let v = BigInt.asIntN(64, value);
  const out: number[] = [];
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  select: 0x1b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i64Load: 0x29,
  f64Store: 0x39,
  i32Const: 0x41,
  i64Const: 0x42,
  i32GeU: 0x4f,
  i64GtU: 0x56,
  i32Add: 0x6a,
  i32Shl: 0x74,
  i64Mul: 0x7e,
  i64Xor: 0x85,
  i64ShrU: 0x88,
  i64ExtendI32U: 0xad,
  f64ConvertI64U: 0xba,
  void: 0x40,
} as const;

// Locals: 0 k (i32), 1 n (i32), 2 i (i32), 3 best (i32), 4 k64 (i64), 5 x (i64), 6 bestV (i64), 7 v (i64).
const K = 0;
const N = 1;
const I = 2;
const BEST = 3;
const K64 = 4;
const X = 5;
const BEST_V = 6;
const V = 7;

/** Leaves v (i64) for member I on the stack. */
function drawOfMember(): number[] {
  const shiftXor = [OP.localGet, X, OP.localGet, X, OP.i64Const, 33, OP.i64ShrU, OP.i64Xor, OP.localSet, X];
  return [
    ...[
      OP.localGet,
      I,
      OP.i32Const,
      3,
      OP.i32Shl,
      OP.i64Load,
      3,
      0,
      OP.localGet,
      K64,
      OP.i64Xor,
      OP.localSet,
      X,
    ],
    ...shiftXor,
    ...[OP.localGet, X, OP.i64Const, ...sleb64(0xff51afd7ed558ccdn), OP.i64Mul, OP.localSet, X],
    ...shiftXor,
    ...[OP.localGet, X, OP.i64Const, ...sleb64(0xc4ceb9fe1a85ec53n), OP.i64Mul, OP.localSet, X],
    ...shiftXor,
    ...[OP.localGet, X, OP.i64Const, 12, OP.i64ShrU],
  ];
}

/** for (i = 0; i < n; i++) { body } */
function loopOverMembers(body: number[]): number[] {
  return [
    ...[OP.localGet, K, OP.i64ExtendI32U, OP.localSet, K64],
    ...[OP.block, OP.void, OP.loop, OP.void],
    ...[OP.localGet, I, OP.localGet, N, OP.i32GeU, OP.brIf, 1],
    ...body,
    ...[OP.localGet, I, OP.i32Const, 1, OP.i32Add, OP.localSet, I, OP.br, 0],
    ...[OP.end, OP.end],
  ];
}

function functionBody(code: number[]): number[] {
  // Local declarations: 2 × i32 (i, best), 4 × i64 (k64, x, bestV, v).
  const body = [2, 2, 0x7f, 4, 0x7e, ...code, OP.end];
  return [...uleb(body.length), ...body];
}

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function name(text: string): number[] {
  return [text.length, ...Array.from(text, (c) => c.charCodeAt(0))];
}

/** Assembles the module's bytes (about 250). */
export function rendezvousWasmBytes(): Uint8Array {
  const best = loopOverMembers([
    ...drawOfMember(),
    // Branch-free: best = v > bestV ? i : best; bestV = v > bestV ? v : bestV (an unpredictable
    // branch here cost ~5 ns a member at N = 10).
    ...[OP.localSet, V],
    ...[OP.localGet, I, OP.localGet, BEST, OP.localGet, V, OP.localGet, BEST_V, OP.i64GtU, OP.select],
    ...[OP.localSet, BEST],
    ...[OP.localGet, V, OP.localGet, BEST_V, OP.localGet, V, OP.localGet, BEST_V, OP.i64GtU, OP.select],
    ...[OP.localSet, BEST_V],
  ]);
  best.push(OP.localGet, BEST);
  const fill = loopOverMembers([
    // address = (n + i) * 8
    ...[OP.localGet, N, OP.localGet, I, OP.i32Add, OP.i32Const, 3, OP.i32Shl],
    ...drawOfMember(),
    ...[OP.f64ConvertI64U, OP.f64Store, 3, 0],
  ]);
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    // types: 0 (i32, i32) -> i32; 1 (i32, i32) -> ()
    ...section(1, [2, 0x60, 2, 0x7f, 0x7f, 1, 0x7f, 0x60, 2, 0x7f, 0x7f, 0]),
    ...section(3, [2, 0, 1]),
    // one memory, minimum 1 page, no maximum
    ...section(5, [1, 0, 1]),
    ...section(7, [3, ...name('memory'), 2, 0, ...name('best'), 0, 0, ...name('fill'), 0, 1]),
    ...section(10, [2, ...functionBody(best), ...functionBody(fill)]),
  ];
  return Uint8Array.from(bytes);
}

/** The little of the WebAssembly JS API used here (the compiler's lib has no WebAssembly types). */
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Instance: new (module: WasmModule, imports: object) => { readonly exports: unknown };
}
type WasmModule = { readonly __brand: 'WebAssembly.Module' };

interface WasmExports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  best(k: number, n: number): number;
  fill(k: number, n: number): void;
}

const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
/** The draws are read through a Float64Array over little-endian wasm memory. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
let compiled: WasmModule | null | undefined;

/** The compiled module, or null where WebAssembly is unavailable (node --jitless) or refuses it. */
function wasmModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      compiled = wasmApi === undefined || !LITTLE_ENDIAN ? null : new wasmApi.Module(rendezvousWasmBytes());
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** The WebAssembly kernel: one instance (with its own memory) per ring. */
export class WasmRendezvousKernel implements RendezvousKernel {
  readonly draws: Float64Array;
  private readonly exports: WasmExports;
  private readonly n: number;

  constructor(module: WasmModule, seedHi: Int32Array, seedLo: Int32Array) {
    const n = seedHi.length;
    this.n = n;
    const exports = new wasmApi!.Instance(module, {}).exports as WasmExports;
    const needed = Math.ceil((16 * n) / 65536);
    const pages = exports.memory.buffer.byteLength / 65536;
    if (needed > pages) exports.memory.grow(needed - pages);
    const buffer = exports.memory.buffer;
    // Little-endian u64: low word first (wasm memory is little-endian; DataView keeps it so on any host).
    const view = new DataView(buffer);
    for (let i = 0; i < n; i++) {
      view.setUint32(8 * i, seedLo[i]! >>> 0, true);
      view.setUint32(8 * i + 4, seedHi[i]! >>> 0, true);
    }
    this.exports = exports;
    this.draws = new Float64Array(buffer, 8 * n, n);
  }

  best(k: number): number {
    return this.exports.best(k | 0, this.n);
  }

  fill(k: number): void {
    this.exports.fill(k | 0, this.n);
  }
}

/** A kernel over these seeds: WebAssembly where available, else JavaScript (`preferJs` forces it). */
export function createRendezvousKernel(
  seedHi: Int32Array,
  seedLo: Int32Array,
  preferJs = false,
): RendezvousKernel {
  const module = preferJs ? null : wasmModule();
  return module === null
    ? new JsRendezvousKernel(seedHi, seedLo)
    : new WasmRendezvousKernel(module, seedHi, seedLo);
}
