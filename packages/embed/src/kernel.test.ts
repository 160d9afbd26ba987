import { readFileSync } from "node:fs";
import { Rng } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import wabtInit from "wabt";
import {
  approxStepDelta,
  createJsKernel,
  createWasmKernel,
  type KernelLayout,
  kernelLayout,
  type TrainingKernel,
  wasmKernelAvailable,
} from "./kernel.js";
import { KERNEL_WASM_BASE64 } from "./wasm/kernel-bytes.js";

/**
 * A small random partition held twice: in a kernel's buffer and, for the
 * scalar references below, as plain double-precision arrays.
 */
interface Problem {
  layout: KernelLayout;
  kernel: TrainingKernel;
  f32: Float32Array;
  i32: Int32Array;
  /** Row r: its (feature, value) entries. */
  rows: { f: number[]; x: number[] }[];
}

const EMB = 10;
const STRIDE = 12;
const FEATURES = 23;
const ROWS = 17;
const SAMPLES = 6;

function problem(make: (l: KernelLayout) => TrainingKernel | null, seed = 7): Problem {
  const rng = new Rng(seed);
  const rows: Problem["rows"] = [];
  let nnz = 0;
  for (let r = 0; r < ROWS; r++) {
    const f: number[] = [];
    for (let j = 0; j < FEATURES; j++) if (rng.nextFloat() < 0.25 || (r === 0 && j < 9)) f.push(j);
    rows.push({ f, x: f.map(() => 0.1 + rng.nextFloat()) });
    nnz += f.length;
  }
  const layout = kernelLayout(STRIDE, SAMPLES, FEATURES, ROWS, nnz);
  const kernel = make(layout);
  if (!kernel) throw new Error("kernel unavailable");
  const f32 = new Float32Array(kernel.buffer);
  const i32 = new Int32Array(kernel.buffer);
  let e = layout.entries >> 2;
  for (let r = 0; r < ROWS; r++) {
    i32[(layout.rowptr >> 2) + r] = e << 2;
    for (let j = 0; j < rows[r].f.length; j++, e += 2) {
      i32[e] = layout.wg + rows[r].f[j] * 8 * STRIDE;
      f32[e + 1] = rows[r].x[j];
    }
  }
  i32[(layout.rowptr >> 2) + ROWS] = e << 2;
  for (let f = 0; f < FEATURES; f++) {
    for (let d = 0; d < STRIDE; d++) {
      setW(layout, f32, f, d, d < EMB ? rng.nextFloat() - 0.5 : 0);
      setG(layout, f32, f, d, d < EMB ? 1 + 3 * rng.nextFloat() : 1);
    }
  }
  return { layout, kernel, f32, i32, rows };
}

const at = (l: KernelLayout, f: number, d: number) =>
  (l.wg >> 2) + f * 2 * l.stride + 8 * (d >> 2) + (d & 3);
const getW = (l: KernelLayout, a: Float32Array, f: number, d: number) => a[at(l, f, d)];
const getG = (l: KernelLayout, a: Float32Array, f: number, d: number) => a[at(l, f, d) + 4];
const setW = (l: KernelLayout, a: Float32Array, f: number, d: number, v: number) => {
  a[at(l, f, d)] = v;
};
const setG = (l: KernelLayout, a: Float32Array, f: number, d: number, v: number) => {
  a[at(l, f, d) + 4] = v;
};

/** W and G as plain double arrays [f][d]. */
function snapshot(p: Problem): { W: number[][]; G: number[][] } {
  const W: number[][] = [];
  const G: number[][] = [];
  for (let f = 0; f < FEATURES; f++) {
    W.push(Array.from({ length: STRIDE }, (_, d) => getW(p.layout, p.f32, f, d)));
    G.push(Array.from({ length: STRIDE }, (_, d) => getG(p.layout, p.f32, f, d)));
  }
  return { W, G };
}

// ---- scalar references, written from ALGORITHM.md section 3 ----

function refProject(W: number[][], row: Problem["rows"][number]): number[] {
  const h = new Array(STRIDE).fill(0);
  row.f.forEach((f, j) => {
    for (let d = 0; d < STRIDE; d++) h[d] += row.x[j] * W[f][d];
  });
  return h;
}

const refDot = (a: number[], b: number[]) => a.reduce((s, x, d) => s + x * b[d], 0);

function refStep(
  W: number[][],
  G: number[][],
  row: Problem["rows"][number],
  h1: number[],
  h2: number[],
  c0: number,
  beta: number,
  eta: number,
): void {
  row.f.forEach((f, j) => {
    for (let d = 0; d < STRIDE; d++) {
      const g = c0 * row.x[j] * (h2[d] - beta * h1[d]);
      G[f][d] += g * g;
      W[f][d] += (eta / Math.sqrt(G[f][d])) * g;
    }
  });
}

function expectClose(actual: number, expected: number, tolerance = 2e-5): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * (1 + Math.abs(expected)));
}

function expectState(p: Problem, W: number[][], G: number[][], tolerance?: number): void {
  for (let f = 0; f < FEATURES; f++) {
    for (let d = 0; d < STRIDE; d++) {
      expectClose(getW(p.layout, p.f32, f, d), W[f][d], tolerance);
      expectClose(getG(p.layout, p.f32, f, d), G[f][d], tolerance);
    }
  }
}

function setSamples(p: Problem, samples: number[], params: number[][]): void {
  samples.forEach((s, j) => {
    p.i32[(p.layout.samples >> 2) + j] = s;
    for (let c = 0; c < 3; c++) p.f32[(p.layout.params >> 2) + 3 * j + c] = params[j][c];
  });
}

const SAMPLE_ROWS = [3, 0, 3, 9, 16, 5];
const SAMPLE_PARAMS = [
  [0.9, 0.3, 0.2],
  [0.4, -0.2, 0.5],
  [0, 1, 1], // c0 = 0: skipped
  [-0.3, 0.1, 0.7],
  [-0.6, 0.4, -0.1],
  [-0.2, 0.8, 0.3],
];

const kernels: [string, (l: KernelLayout) => TrainingKernel | null][] = [
  ["js", createJsKernel],
  ["wasm", createWasmKernel],
];

describe("the WebAssembly kernel", () => {
  it("is available on Node 20 (so the fast path is what the other tests exercise)", () => {
    expect(wasmKernelAvailable()).toBe(true);
  });

  it("is the committed compilation of kernel.wat", async () => {
    const wabt = await wabtInit();
    const source = readFileSync(new URL("./wasm/kernel.wat", import.meta.url), "utf8");
    const module = wabt.parseWat("kernel.wat", source, { simd: true });
    const { buffer } = module.toBinary({ log: false, write_debug_names: false });
    module.destroy();
    expect(Buffer.from(buffer).toString("base64")).toBe(KERNEL_WASM_BASE64);
  });
});

describe.each(kernels)("%s kernel against the scalar references", (_name, make) => {
  it("accumulate: x W over a row's entries, padding lanes zero", () => {
    const p = problem(make);
    const { W } = snapshot(p);
    for (let r = 0; r < ROWS; r++) {
      const r0 = p.i32[(p.layout.rowptr >> 2) + r];
      const r1 = p.i32[(p.layout.rowptr >> 2) + r + 1];
      p.kernel.accumulate(p.layout.emb, r0, r1);
      const expected = refProject(W, p.rows[r]);
      for (let d = 0; d < STRIDE; d++) expectClose(p.f32[(p.layout.emb >> 2) + d], expected[d]);
      expect(p.f32[(p.layout.emb >> 2) + EMB]).toBe(0);
    }
  });

  it("dot: inner product over the stride", () => {
    const p = problem(make);
    const a = p.layout.emb;
    const b = p.layout.emb + 4 * STRIDE;
    const rng = new Rng(3);
    const va = Array.from({ length: STRIDE }, () => rng.nextFloat() - 0.5);
    const vb = Array.from({ length: STRIDE }, () => rng.nextFloat() - 0.5);
    p.f32.set(va, a >> 2);
    p.f32.set(vb, b >> 2);
    expectClose(p.kernel.dot(a, b), refDot(va, vb), 1e-6);
  });

  it("direction + step: one AdaGrad ascent step of cos(h1, h2) through h1", () => {
    const p = problem(make);
    const { W, G } = snapshot(p);
    const h1 = refProject(W, p.rows[2]);
    const h2 = refProject(W, p.rows[5]);
    p.f32.set(h1, p.layout.emb >> 2);
    p.f32.set(h2, (p.layout.emb >> 2) + STRIDE);
    p.kernel.direction(p.layout.emb, p.layout.emb + 4 * STRIDE, 0.7, 0.25, 0);
    const r = p.layout.rowptr >> 2;
    p.kernel.step(p.i32[r + 2], p.i32[r + 3], 0.1);
    refStep(W, G, p.rows[2], h1, h2, 0.7, 0.25, 0.1);
    expectState(p, W, G);
    // Accumulating directions: v += c0 (h2 - beta h1).
    p.kernel.direction(p.layout.emb, p.layout.emb + 4 * STRIDE, 0.5, 0.1, 0);
    p.kernel.direction(p.layout.emb + 4 * STRIDE, p.layout.emb, 0.2, 0.3, 1);
    for (let d = 0; d < STRIDE; d++) {
      const expected = 0.5 * (h2[d] - 0.1 * h1[d]) + 0.2 * (h1[d] - 0.3 * h2[d]);
      expectClose(p.f32[(p.layout.v >> 2) + d], expected);
    }
  });

  it("forward: h, u_s, <h, u_s> and squared norms before any update", () => {
    const p = problem(make);
    const { W } = snapshot(p);
    setSamples(p, SAMPLE_ROWS, SAMPLE_PARAMS);
    p.kernel.forward(4, SAMPLES);
    const h = refProject(W, p.rows[4]);
    expectClose(p.f32[p.layout.norms >> 2], refDot(h, h));
    SAMPLE_ROWS.forEach((r, s) => {
      const u = refProject(W, p.rows[r]);
      for (let d = 0; d < STRIDE; d++) {
        expectClose(p.f32[(p.layout.emb >> 2) + (s + 1) * STRIDE + d], u[d]);
      }
      expectClose(p.f32[(p.layout.dots >> 2) + s], refDot(h, u));
      expectClose(p.f32[(p.layout.norms >> 2) + 1 + s], refDot(u, u));
    });
  });

  it("update: per sample, the anchor-side step then the sample-side step, from values before the update", () => {
    const p = problem(make);
    const { W, G } = snapshot(p);
    const anchor = 0; // shares features with every sample row, and is itself a sample
    setSamples(p, SAMPLE_ROWS, SAMPLE_PARAMS);
    p.kernel.forward(anchor, SAMPLES);
    p.kernel.update(anchor, SAMPLES, 0.1);
    const h = refProject(W, p.rows[anchor]);
    const us = SAMPLE_ROWS.map((r) => refProject(W, p.rows[r]));
    SAMPLE_ROWS.forEach((r, s) => {
      const [c0, betaA, betaS] = SAMPLE_PARAMS[s].map(Math.fround);
      if (c0 === 0) return;
      refStep(W, G, p.rows[anchor], h, us[s], c0, betaA, 0.1);
      refStep(W, G, p.rows[r], us[s], h, c0, betaS, 0.1);
    });
    expectState(p, W, G);
  });

  it("updateMerged: one anchor step along the summed directions, then the sample steps", () => {
    const p = problem(make);
    const { W, G } = snapshot(p);
    const anchor = 1;
    setSamples(p, SAMPLE_ROWS, SAMPLE_PARAMS);
    p.kernel.forward(anchor, SAMPLES);
    p.kernel.updateMerged(anchor, SAMPLES, 0.1);
    const h = refProject(W, p.rows[anchor]);
    const us = SAMPLE_ROWS.map((r) => refProject(W, p.rows[r]));
    const sum = new Array(STRIDE).fill(0);
    SAMPLE_ROWS.forEach((_r, s) => {
      const [c0, betaA] = SAMPLE_PARAMS[s].map(Math.fround);
      for (let d = 0; d < STRIDE; d++) sum[d] += c0 * (us[s][d] - betaA * h[d]);
    });
    refStep(W, G, p.rows[anchor], new Array(STRIDE).fill(0), sum, 1, 0, 0.1);
    SAMPLE_ROWS.forEach((r, s) => {
      const [c0, , betaS] = SAMPLE_PARAMS[s].map(Math.fround);
      if (c0 !== 0) refStep(W, G, p.rows[r], us[s], h, c0, betaS, 0.1);
    });
    expectState(p, W, G);
  });
});

describe("wasm and js kernels", () => {
  it("agree to float rounding over many updates", () => {
    const a = problem(createJsKernel, 11);
    const b = problem((l) => createWasmKernel(l), 11);
    const rng = new Rng(5);
    for (let it = 0; it < 200; it++) {
      const anchor = rng.nextInt(ROWS);
      const samples = Array.from({ length: SAMPLES }, () => rng.nextInt(ROWS));
      const params = samples.map(() => [rng.nextFloat() - 0.5, rng.nextFloat(), rng.nextFloat()]);
      for (const p of [a, b]) {
        setSamples(p, samples, params);
        p.kernel.forward(anchor, SAMPLES);
        p.kernel.update(anchor, SAMPLES, 0.1);
      }
    }
    const sa = snapshot(a);
    expectState(b, sa.W, sa.G, 1e-4);
  });

  it("leave the padding lanes unchanged (W 0, G 1)", () => {
    for (const [, make] of kernels) {
      const p = problem(make);
      setSamples(p, SAMPLE_ROWS, SAMPLE_PARAMS);
      p.kernel.forward(0, SAMPLES);
      p.kernel.update(0, SAMPLES, 0.1);
      p.kernel.updateMerged(0, SAMPLES, 0.1);
      for (let f = 0; f < FEATURES; f++) {
        for (let d = EMB; d < STRIDE; d++) {
          expect(getW(p.layout, p.f32, f, d)).toBe(0);
          expect(getG(p.layout, p.f32, f, d)).toBe(1);
        }
      }
    }
  });
});

describe('the "approx" step (reciprocal square root by bit trick + one Newton step)', () => {
  it("approxStepDelta is eta g / sqrt(G) within 6.6e-4 relative, over G from 1 to 1e30", () => {
    const rng = new Rng(3);
    let worst = 0;
    for (let i = 0; i < 20000; i++) {
      const G = Math.fround(10 ** (30 * rng.nextFloat()));
      const g = Math.fround(rng.nextFloat() - 0.5);
      const exact = (Math.fround(0.1) * g) / Math.sqrt(G);
      const rel = Math.abs(approxStepDelta(0.1, g, G) - exact) / Math.abs(exact);
      worst = Math.max(worst, rel);
    }
    expect(worst).toBeLessThan(6.6e-4);
    // Not the exact form: the approximation is really in use.
    expect(worst).toBeGreaterThan(1e-4);
  });

  it.each(kernels)("%s kernel: step is the scalar reference bit for bit", (_name, make) => {
    const p = problem((l) =>
      make === createJsKernel ? createJsKernel(l, true) : createWasmKernel(l, true),
    );
    const before = snapshot(p);
    const v = p.layout.v >> 2;
    for (let d = 0; d < STRIDE; d++) p.f32[v + d] = d < EMB ? 0.3 * Math.sin(d + 1) : 0;
    const r = p.layout.rowptr >> 2;
    p.kernel.step(p.i32[r], p.i32[r + 1], 0.1);
    const row = p.rows[0];
    const touched = new Set(row.f);
    for (let f = 0; f < FEATURES; f++) {
      for (let d = 0; d < STRIDE; d++) {
        let W = Math.fround(before.W[f][d]);
        let G = Math.fround(before.G[f][d]);
        const j = row.f.indexOf(f);
        if (j >= 0) {
          const g = Math.fround(Math.fround(row.x[j]) * p.f32[v + d]);
          G = Math.fround(G + Math.fround(g * g));
          W = Math.fround(W + approxStepDelta(0.1, g, G));
        }
        expect(getG(p.layout, p.f32, f, d)).toBe(G);
        expect(getW(p.layout, p.f32, f, d)).toBe(W);
      }
    }
    // Within the approximation's error of the exact step.
    const W = before.W.map((w) => [...w]);
    const G = before.G.map((g) => [...g]);
    const zero = new Array(STRIDE).fill(0);
    const target = Array.from({ length: STRIDE }, (_, d) => p.f32[v + d]);
    refStep(W, G, row, zero, target, 1, 0, 0.1);
    for (const f of touched) {
      for (let d = 0; d < EMB; d++) {
        const moved = W[f][d] - before.W[f][d];
        expect(Math.abs(getW(p.layout, p.f32, f, d) - W[f][d])).toBeLessThanOrEqual(
          7e-4 * Math.abs(moved) + 1e-7,
        );
      }
    }
  });

  it("wasm and js agree bit for bit over many updates given the same directions", () => {
    const a = problem((l) => createJsKernel(l, true), 11);
    const b = problem((l) => createWasmKernel(l, true), 11);
    const exact = problem((l) => createWasmKernel(l), 11);
    const rng = new Rng(5);
    for (let it = 0; it < 200; it++) {
      const row = rng.nextInt(ROWS);
      const dir = Array.from({ length: STRIDE }, (_, d) => (d < EMB ? rng.nextFloat() - 0.5 : 0));
      const r = a.layout.rowptr >> 2;
      for (const p of [a, b, exact]) {
        p.f32.set(dir, p.layout.v >> 2);
        p.kernel.step(p.i32[r + row], p.i32[r + row + 1], 0.1);
      }
    }
    expect(new Uint32Array(b.kernel.buffer, b.layout.wg, 2 * FEATURES * STRIDE)).toEqual(
      new Uint32Array(a.kernel.buffer, a.layout.wg, 2 * FEATURES * STRIDE),
    );
    // ... and differ from the exact step's weights (by rounding-sized amounts).
    const se = snapshot(exact);
    expect(snapshot(b).W).not.toEqual(se.W);
    expectState(b, se.W, se.G, 1e-3);
  });
});

describe("kernelLayout", () => {
  it("aligns every region to 16 bytes and refuses more than 4 GiB", () => {
    const l = kernelLayout(52, 20, 1836, 4880, 334_000);
    for (const a of [l.emb, l.samples, l.params, l.dots, l.norms, l.v, l.wg, l.rowptr, l.entries]) {
      expect(a % 16).toBe(0);
    }
    expect(l.bytes).toBeGreaterThanOrEqual(l.entries + 334_000 * 8);
    expect(() => kernelLayout(52, 20, 20_000_000, 10, 10)).toThrow(
      expect.objectContaining({ code: "TOO_LARGE", message: expect.stringMatching(/4 GiB/) }),
    );
  });
});
