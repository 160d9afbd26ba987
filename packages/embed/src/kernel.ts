import {
  AnnexmlError,
  compileWasm,
  instantiateWasm,
  type WasmMemory,
  type WasmModule,
} from "@annexml/sparse-io";
import { KERNEL_WASM_BASE64 } from "./wasm/kernel-bytes.js";

/**
 * Where the trainer keeps its state inside one flat buffer (byte offsets,
 * all multiples of 16). The same layout serves the WebAssembly kernel (its
 * linear memory) and the JavaScript kernel (a plain `ArrayBuffer`), so the
 * driver code is shared and only the inner loops differ.
 */
export interface KernelLayout {
  /** Floats per embedding row (embSize padded to a multiple of 4); a W/G record is 2 strides. */
  readonly stride: number;
  /** Number of samples per update (2P), the capacity of the per-update arrays. */
  readonly maxSamples: number;
  /** Number of features of the partition (W/G records). */
  readonly features: number;
  /** Rows and non-zeros of the partition. */
  readonly rows: number;
  readonly nnz: number;
  readonly emb: number;
  readonly samples: number;
  readonly params: number;
  readonly dots: number;
  readonly norms: number;
  readonly v: number;
  /** First W/G record; record f starts at byte `wg + f * 8 * stride`. */
  readonly wg: number;
  readonly rowptr: number;
  readonly entries: number;
  /** Total bytes needed. */
  readonly bytes: number;
}

// Plain arithmetic, not bit operations: sizes may exceed 2^31 before the check.
const align16 = (n: number) => Math.ceil(n / 16) * 16;

/**
 * Computes the layout for a partition; throws an `AnnexmlError` `TOO_LARGE`
 * when it exceeds 4 GiB.
 */
export function kernelLayout(
  stride: number,
  maxSamples: number,
  features: number,
  rows: number,
  nnz: number,
): KernelLayout {
  const sb = stride * 4;
  let at = 16; // address 0 stays unused so a zero address is never valid data
  const emb = at;
  at = align16(at + (1 + maxSamples) * sb);
  const samples = at;
  at = align16(at + maxSamples * 4);
  const params = at;
  at = align16(at + maxSamples * 12);
  const dots = at;
  at = align16(at + maxSamples * 4);
  const norms = at;
  at = align16(at + (1 + maxSamples) * 4);
  const v = at;
  at = align16(at + sb);
  const wg = at;
  at = align16(at + features * 2 * sb);
  const rowptr = at;
  at = align16(at + (rows + 1) * 4);
  const entries = at;
  at = align16(at + nnz * 8);
  if (at > 2 ** 32 - 65536) {
    throw new AnnexmlError(
      "TOO_LARGE",
      `the partition needs ${at} bytes of training state, more than 4 GiB`,
    );
  }
  return {
    stride,
    maxSamples,
    features,
    rows,
    nnz,
    emb,
    samples,
    params,
    dots,
    norms,
    v,
    wg,
    rowptr,
    entries,
    bytes: at,
  };
}

/**
 * The inner loops of one training update, over the buffer of a
 * {@link KernelLayout}. All addresses are byte offsets into that buffer.
 *
 * A W/G record (one per feature) holds W and the AdaGrad accumulators G
 * interleaved by groups of 4 floats: `W[0..4) G[0..4) W[4..8) G[4..8) ...`,
 * so weight d of record r is float `r/4 + 8 (d >> 2) + (d & 3)` and its
 * accumulator 4 floats later.
 */
export interface TrainingKernel {
  /** "wasm" (f32x4 SIMD) or "js" (scalar fallback and reference). */
  readonly name: "wasm" | "js";
  /** The buffer holding the state. */
  readonly buffer: ArrayBuffer;
  /** `out = sum over entries [e0, e1) of value * W[record]` (stride floats). */
  accumulate(out: number, e0: number, e1: number): void;
  /** `<a, b>` over stride floats. */
  dot(a: number, b: number): number;
  /** `v = c0 (h2 - beta h1)`, or `v += ...` when `accumulate` is 1. */
  direction(h1: number, h2: number, c0: number, beta: number, accumulate: number): void;
  /** For the entries [e0, e1): `g = x v; G += g^2; W += eta g / sqrt(G)` (1 / sqrt approximated when created so). */
  step(e0: number, e1: number, eta: number): void;
  /** h, u_s, <h, u_s>, |h|^2, |u_s|^2 for the anchor and the first n samples. */
  forward(anchor: number, n: number): void;
  /** Exact per-sample AdaGrad: both steps of every sample with c0 != 0, in sample order. */
  update(anchor: number, n: number, eta: number): void;
  /** Merged variant: one anchor step along the summed directions, then the sample steps. */
  updateMerged(anchor: number, n: number, eta: number): void;
}

const bits = new Float32Array(1);
const bitsI32 = new Int32Array(bits.buffer);
const f = Math.fround;

/** Constants of the "approx" step's one tuned Newton step (see {@link approxStepDelta}). */
const RSQRT_MAGIC = 0x5f1ffff9;
const RSQRT_K1 = Math.fround(0.703952253);
const RSQRT_K2 = Math.fround(2.38924456);

/**
 * The scalar reference of the "approx" AdaGrad step of one weight:
 * `eta g / sqrt(G)` with 1 / sqrt(G) = k1 y0 (k2 - G y0^2), y0 from the bit
 * trick `0x5f1ffff9 - (bits(G) >>> 1)`, k1 folded into `eta` (relative error
 * below 6.6e-4 for any normal float32 G > 0). Every operation is rounded to
 * float32 in the f32x4 kernel's order, so the two agree bit for bit.
 */
export function approxStepDelta(eta: number, g: number, G: number): number {
  bits[0] = G;
  bitsI32[0] = RSQRT_MAGIC - (bitsI32[0] >>> 1);
  const y = bits[0];
  const ek = f(f(eta) * RSQRT_K1);
  return f(f(f(ek * g) * y) * f(RSQRT_K2 - f(G * f(y * y))));
}

/**
 * The scalar JavaScript kernel over a fresh `ArrayBuffer` of `layout.bytes`;
 * `approx` selects the reciprocal-square-root step (see {@link approxStepDelta}),
 * computed in float32 like the wasm one.
 */
export function createJsKernel(layout: KernelLayout, approx = false): TrainingKernel {
  const buffer = new ArrayBuffer(layout.bytes);
  const f32 = new Float32Array(buffer);
  const i32 = new Int32Array(buffer);
  const stride = layout.stride;
  const sb = stride * 4;
  const vIdx = layout.v >> 2;
  const rowptrIdx = layout.rowptr >> 2;
  const samplesIdx = layout.samples >> 2;

  function accumulate(out: number, e0: number, e1: number): void {
    const o = out >> 2;
    for (let d = 0; d < stride; d++) f32[o + d] = 0;
    for (let e = e0 >> 2, end = e1 >> 2; e < end; e += 2) {
      const x = f32[e + 1];
      // stride is a multiple of 4: one group of 4 weights per iteration.
      for (let w = i32[e] >> 2, d = 0; d < stride; d += 4, w += 8) {
        f32[o + d] += x * f32[w];
        f32[o + d + 1] += x * f32[w + 1];
        f32[o + d + 2] += x * f32[w + 2];
        f32[o + d + 3] += x * f32[w + 3];
      }
    }
  }

  function dot(a: number, b: number): number {
    const ia = a >> 2;
    const ib = b >> 2;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let d = 0; d < stride; d += 4) {
      s0 += f32[ia + d] * f32[ib + d];
      s1 += f32[ia + d + 1] * f32[ib + d + 1];
      s2 += f32[ia + d + 2] * f32[ib + d + 2];
      s3 += f32[ia + d + 3] * f32[ib + d + 3];
    }
    return s0 + s1 + (s2 + s3);
  }

  function direction(h1: number, h2: number, c0: number, beta: number, add: number): void {
    const i1 = h1 >> 2;
    const i2 = h2 >> 2;
    if (add) {
      for (let d = 0; d < stride; d++) f32[vIdx + d] += c0 * (f32[i2 + d] - beta * f32[i1 + d]);
    } else {
      for (let d = 0; d < stride; d++) f32[vIdx + d] = c0 * (f32[i2 + d] - beta * f32[i1 + d]);
    }
  }

  function step(e0: number, e1: number, eta: number): void {
    if (approx) {
      stepApprox(e0, e1, eta);
      return;
    }
    for (let e = e0 >> 2, end = e1 >> 2; e < end; e += 2) {
      const x = f32[e + 1];
      for (let w = i32[e] >> 2, d = 0; d < stride; d += 4, w += 8) {
        const g0 = x * f32[vIdx + d];
        const g1 = x * f32[vIdx + d + 1];
        const g2 = x * f32[vIdx + d + 2];
        const g3 = x * f32[vIdx + d + 3];
        const G0 = f32[w + 4] + g0 * g0;
        const G1 = f32[w + 5] + g1 * g1;
        const G2 = f32[w + 6] + g2 * g2;
        const G3 = f32[w + 7] + g3 * g3;
        f32[w + 4] = G0;
        f32[w + 5] = G1;
        f32[w + 6] = G2;
        f32[w + 7] = G3;
        f32[w] += (eta * g0) / Math.sqrt(G0);
        f32[w + 1] += (eta * g1) / Math.sqrt(G1);
        f32[w + 2] += (eta * g2) / Math.sqrt(G2);
        f32[w + 3] += (eta * g3) / Math.sqrt(G3);
      }
    }
  }

  function stepApprox(e0: number, e1: number, eta: number): void {
    for (let e = e0 >> 2, end = e1 >> 2; e < end; e += 2) {
      const x = f32[e + 1];
      for (let w = i32[e] >> 2, d = 0; d < stride; d++) {
        // Weight d of the record: group d >> 2, lane d & 3, G 4 floats later.
        const at = w + 8 * (d >> 2) + (d & 3);
        const g = f(x * f32[vIdx + d]);
        const G = f(f32[at + 4] + f(g * g));
        f32[at + 4] = G;
        f32[at] = f(f32[at] + approxStepDelta(eta, g, G));
      }
    }
  }

  function forward(anchor: number, n: number): void {
    const emb = layout.emb;
    accumulate(emb, i32[rowptrIdx + anchor], i32[rowptrIdx + anchor + 1]);
    f32[layout.norms >> 2] = dot(emb, emb);
    for (let s = 0, u = emb + sb; s < n; s++, u += sb) {
      const r = i32[samplesIdx + s];
      accumulate(u, i32[rowptrIdx + r], i32[rowptrIdx + r + 1]);
      f32[(layout.dots >> 2) + s] = dot(emb, u);
      f32[(layout.norms >> 2) + 1 + s] = dot(u, u);
    }
  }

  function update(anchor: number, n: number, eta: number): void {
    const emb = layout.emb;
    const a0 = i32[rowptrIdx + anchor];
    const a1 = i32[rowptrIdx + anchor + 1];
    for (let s = 0, u = emb + sb, p = layout.params >> 2; s < n; s++, u += sb, p += 3) {
      const c0 = f32[p];
      if (c0 === 0) continue;
      direction(emb, u, c0, f32[p + 1], 0);
      step(a0, a1, eta);
      direction(u, emb, c0, f32[p + 2], 0);
      const r = i32[samplesIdx + s];
      step(i32[rowptrIdx + r], i32[rowptrIdx + r + 1], eta);
    }
  }

  function updateMerged(anchor: number, n: number, eta: number): void {
    const emb = layout.emb;
    let any = 0;
    for (let s = 0, u = emb + sb, p = layout.params >> 2; s < n; s++, u += sb, p += 3) {
      if (f32[p] === 0) continue;
      direction(emb, u, f32[p], f32[p + 1], any);
      any = 1;
    }
    if (any) step(i32[rowptrIdx + anchor], i32[rowptrIdx + anchor + 1], eta);
    for (let s = 0, u = emb + sb, p = layout.params >> 2; s < n; s++, u += sb, p += 3) {
      const c0 = f32[p];
      if (c0 === 0) continue;
      direction(u, emb, c0, f32[p + 2], 0);
      const r = i32[samplesIdx + s];
      step(i32[rowptrIdx + r], i32[rowptrIdx + r + 1], eta);
    }
  }

  return {
    name: "js",
    buffer,
    accumulate,
    dot,
    direction,
    step,
    forward,
    update,
    updateMerged,
  };
}

/** The module's exports: the kernel's operations plus memory and the layout's addresses. */
interface KernelExports extends Omit<TrainingKernel, "name" | "buffer"> {
  readonly memory: WasmMemory;
  init(
    sb: number,
    rowptr: number,
    emb: number,
    samples: number,
    params: number,
    dots: number,
    norms: number,
    v: number,
    approx: number,
  ): void;
}

/**
 * The compiled SIMD module (compiled once per process or worker by
 * sparse-io's loader), or null when this platform has no WebAssembly or no
 * fixed-width SIMD.
 */
function wasmModule(): WasmModule | null {
  return compileWasm(KERNEL_WASM_BASE64);
}

/** Whether the WebAssembly SIMD kernel can run here. */
export function wasmKernelAvailable(): boolean {
  return wasmModule() !== null;
}

/**
 * The f32x4 WebAssembly kernel with its own linear memory grown once to
 * `layout.bytes`; null when unavailable or when the memory cannot grow.
 */
export function createWasmKernel(layout: KernelLayout, approx = false): TrainingKernel | null {
  const module = wasmModule();
  if (module === null) return null;
  const instance = instantiateWasm(module);
  if (instance === null) return null;
  const ex = instance.exports as unknown as KernelExports;
  const pages = Math.ceil(layout.bytes / 65536);
  const have = ex.memory.buffer.byteLength / 65536;
  try {
    if (pages > have) ex.memory.grow(pages - have);
  } catch {
    return null;
  }
  ex.init(
    layout.stride * 4,
    layout.rowptr,
    layout.emb,
    layout.samples,
    layout.params,
    layout.dots,
    layout.norms,
    layout.v,
    approx ? 1 : 0,
  );
  return {
    name: "wasm",
    buffer: ex.memory.buffer,
    accumulate: ex.accumulate,
    dot: ex.dot,
    direction: ex.direction,
    step: ex.step,
    forward: ex.forward,
    update: ex.update,
    updateMerged: ex.updateMerged,
  };
}
