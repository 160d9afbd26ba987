import { readFileSync } from "node:fs";
import { createSharedWasmMemory, type DenseMatrix, Rng } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import wabtInit from "wabt";
import { innerProduct, ipBlock, ipRow4, l2Block, l2Row4, squaredL2 } from "./kernels.js";
import {
  createVectorSpace,
  readsInPlace,
  SpaceArena,
  type VectorSpace,
  wasmSpaceAvailable,
} from "./space.js";
import { DISTANCE_SHARED_WASM_BASE64, DISTANCE_WASM_BASE64 } from "./wasm/distance-bytes.js";

function randomMatrix(rng: Rng, rows: number, cols: number, stride: number): DenseMatrix {
  const data = new Float32Array(rows * stride);
  for (let i = 0; i < rows; i++)
    for (let d = 0; d < cols; d++) data[i * stride + d] = rng.nextFloat() * 2 - 1;
  return { rows, cols, stride, data };
}

/** The plain scalar loop in double: the reference of every kernel. */
function reference(
  x: Float32Array,
  a: number,
  y: Float32Array,
  b: number,
  cols: number,
  l2: boolean,
) {
  let s = 0;
  for (let d = 0; d < cols; d++) s += l2 ? (x[a + d] - y[b + d]) ** 2 : x[a + d] * y[b + d];
  return s;
}

/**
 * Float32 sums of `cols` terms of magnitude <= 4 err by at most about
 * `cols * 2^-24 * sum |terms|`; this bound (with margin) is what the
 * WebAssembly kernel is held to against the double reference.
 */
function tolerance(cols: number, magnitude: number): number {
  return 4 * cols * 2 ** -24 * magnitude + 1e-30;
}

describe("the WebAssembly distance module", () => {
  it("runs on Node 20 (so the fast path is what the other tests exercise)", () => {
    expect(wasmSpaceAvailable()).toBe(true);
    expect(createVectorSpace(randomMatrix(new Rng(1), 3, 5, 8)).kernel).toBe("wasm");
  });

  it("is the committed compilation of distance.wat (and of its shared-memory variant)", async () => {
    const wabt = await wabtInit();
    const source = readFileSync(new URL("./wasm/distance.wat", import.meta.url), "utf8");
    const compile = (text: string) => {
      const module = wabt.parseWat("distance.wat", text, { simd: true, threads: true });
      const { buffer } = module.toBinary({ log: false, write_debug_names: false });
      module.destroy();
      return Buffer.from(buffer).toString("base64");
    };
    expect(compile(source)).toBe(DISTANCE_WASM_BASE64);
    const shared = source.replace(/^(\s*).*;; @shared (.+)$/gm, "$1$2");
    expect(shared).toContain('(import "env" "memory") 0 65536 shared');
    expect(compile(shared)).toBe(DISTANCE_SHARED_WASM_BASE64);
  });
});

describe("a space read in place from a shared WebAssembly memory", () => {
  /** `m` and `graph` copied into a new shared memory at 64-byte aligned addresses (as a model file lays them out). */
  function inMemory(m: DenseMatrix, ids: Int32Array) {
    const memory = createSharedWasmMemory(64 + m.data.byteLength + 64 + ids.byteLength);
    if (memory === null) throw new Error("no shared WebAssembly memory on Node?");
    const data = new Float32Array(memory.buffer, 64, m.data.length);
    data.set(m.data);
    const at = 64 + Math.ceil(m.data.byteLength / 64) * 64;
    const edges = new Int32Array(memory.buffer, at, ids.length);
    edges.set(ids);
    return { memory, vectors: { ...m, data }, graph: { ids: edges, degree: ids.length / m.rows } };
  }

  it("gives the results of a copied space, bit for bit, with one copy of the rows and per-thread scratch", () => {
    const rng = new Rng(21);
    const rows = 300;
    const m = randomMatrix(rng, rows, 50, 52);
    const degree = 7;
    const ids = new Int32Array(rows * degree);
    for (let p = 0; p < ids.length; p++) ids[p] = rng.nextInt(rows + 1) - 1; // -1 = none
    const { memory, vectors, graph } = inMemory(m, ids);
    expect(readsInPlace(vectors, graph, memory)).toBe(true);
    const copied = createVectorSpace(m, { graph: { ids, degree }, capacity: 64 });
    // Two arenas over one memory, as two threads have.
    const a = createVectorSpace(vectors, { graph, capacity: 64, arena: new SpaceArena(memory) });
    const b = createVectorSpace(vectors, { graph, capacity: 64, arena: new SpaceArena(memory) });
    for (const s of [a, b]) {
      expect(s.kernel).toBe("wasm");
      // The memory's rows, not a copy: a write through the memory shows.
      expect(s.data.byteOffset).toBe(64);
      const keep = vectors.data[5];
      vectors.data[5] = 1234.5;
      expect(s.data[5]).toBe(1234.5);
      vectors.data[5] = keep;
      expect(s.bytes).toBe(52 * 4 + 64 * 4 + 68 * 4 + 304 * 4); // scratch only: query, ids, out, visited
    }
    expect(a.visited.byteOffset).not.toBe(b.visited.byteOffset);
    for (let q = 0; q < 20; q++) {
      const src = rng.nextInt(rows);
      const epochs = [copied, a, b].map((s) => {
        s.setQuery(m.data, src * m.stride);
        return s.nextEpoch();
      });
      const r = rng.nextInt(rows);
      const fresh = [copied, a, b].map((s, i) => s.expand(r, epochs[i], q % 2 === 1));
      expect(fresh[1]).toBe(fresh[0]);
      expect(fresh[2]).toBe(fresh[0]);
      expect([...a.ids.subarray(0, fresh[0])]).toEqual([...copied.ids.subarray(0, fresh[0])]);
      expect([...a.out.subarray(0, fresh[0])]).toEqual([...copied.out.subarray(0, fresh[0])]);
      expect([...b.out.subarray(0, fresh[0])]).toEqual([...copied.out.subarray(0, fresh[0])]);
      for (const s of [copied, a, b]) s.toRange(0, 64, src);
      expect([...a.out.subarray(0, 64)]).toEqual([...copied.out.subarray(0, 64)]);
    }
  });

  it("copies where it cannot read in place (stride, order, arrays outside the memory)", () => {
    const rng = new Rng(22);
    const m = randomMatrix(rng, 10, 6, 8);
    const ids = new Int32Array(10 * 2).fill(-1);
    const { memory, vectors, graph } = inMemory(m, ids);
    const arena = new SpaceArena(memory);
    const unpadded = randomMatrix(rng, 10, 6, 6); // a stride of 6 floats
    expect(readsInPlace(unpadded, null, memory)).toBe(false);
    expect(readsInPlace(m, null, memory)).toBe(false); // an ArrayBuffer, not the memory
    const order = Int32Array.from({ length: 10 }, (_, i) => 9 - i);
    const reordered = createVectorSpace(vectors, { graph, order, arena });
    expect(reordered.data.byteOffset).not.toBe(64);
    expect(reordered.data[0]).toBe(m.data[9 * 8]);
    expect(() => createVectorSpace(m, { arena: {} as SpaceArena })).toThrow(
      /arena must be a SpaceArena/,
    );
  });
});

describe("the scalar JavaScript kernels", () => {
  it("are bit-identical to the plain loop", () => {
    const rng = new Rng(5);
    for (const [cols, stride] of [
      [1, 1],
      [3, 4],
      [50, 56],
      [17, 17],
    ]) {
      const m = randomMatrix(rng, 8, cols, stride);
      const o = randomMatrix(rng, 8, cols, stride);
      const out = new Float64Array(6);
      for (const l2 of [true, false]) {
        expect((l2 ? squaredL2 : innerProduct)(m.data, stride, o.data, 6 * stride, cols)).toBe(
          reference(m.data, stride, o.data, 6 * stride, cols, l2),
        );
        const at = [0, 1, 5, 7].map((r) => r * stride);
        (l2 ? l2Row4 : ipRow4)(
          m.data,
          4 * stride,
          o.data,
          at[0],
          at[1],
          at[2],
          at[3],
          cols,
          out,
          2,
        );
        expect([...out.subarray(2)]).toEqual(
          at.map((b) => reference(m.data, 4 * stride, o.data, b, cols, l2)),
        );
        (l2 ? l2Block : ipBlock)(m.data, 0, 3 * stride, o.data, at[1], at[3], cols, out);
        expect([...out.subarray(0, 4)]).toEqual([
          reference(m.data, 0, o.data, at[1], cols, l2),
          reference(m.data, 0, o.data, at[3], cols, l2),
          reference(m.data, 3 * stride, o.data, at[1], cols, l2),
          reference(m.data, 3 * stride, o.data, at[3], cols, l2),
        ]);
      }
    }
  });
});

describe.each(["wasm", "js"] as const)("VectorSpace (%s)", (kernel) => {
  const make = (m: DenseMatrix, metric: "l2" | "ip", extra = {}) =>
    createVectorSpace(m, { metric, kernel, capacity: 64, ...extra });

  it("toMany, toRange, toAll and tile agree with the scalar reference (every dimension 1..70)", () => {
    const rng = new Rng(7);
    for (let cols = 1; cols <= 70; cols++) {
      const stride = cols + (cols % 3);
      const m = randomMatrix(rng, 9, cols, stride);
      for (const metric of ["l2", "ip"] as const) {
        const l2 = metric === "l2";
        const s = make(m, metric);
        expect(s.kernel).toBe(kernel);
        const tol = tolerance(cols, l2 ? 4 : 1);
        const near = (got: number, i: number, j: number) => {
          const want = reference(m.data, i * stride, m.data, j * stride, cols, l2);
          // The JavaScript kernel is the double sum rounded once to float32.
          if (kernel === "js") expect(got).toBe(Math.fround(want));
          else expect(Math.abs(got - want)).toBeLessThanOrEqual(tol);
        };
        // 7 ids: one group of 4 and a tail of 3.
        const ids = [8, 0, 3, 3, 5, 1, 7];
        s.ids.set(ids);
        s.toMany(7, 2);
        for (let t = 0; t < 7; t++) near(s.out[t], 2, ids[t]);
        s.setQuery(m.data, 6 * stride);
        s.toMany(7);
        for (let t = 0; t < 7; t++) near(s.out[t], 6, ids[t]);
        s.toRange(2, 7, 4);
        for (let t = 0; t < 7; t++) near(s.out[t], 4, 2 + t);
        s.toAll();
        for (let r = 0; r < 9; r++) near(s.out[r], 6, r);
        s.tile(1, 3, 2, 5);
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 5; j++) near(s.out[i * 5 + j], 1 + i, 2 + j);
      }
    }
  });

  it("gives a pair one value in every method, symmetric, and 0 for equal rows (l2)", () => {
    const rng = new Rng(8);
    const m = randomMatrix(rng, 40, 50, 56);
    m.data.copyWithin(39 * 56, 3 * 56, 4 * 56); // row 39 = row 3
    for (const metric of ["l2", "ip"] as const) {
      const s = make(m, metric);
      const byRange: number[][] = [];
      for (let i = 0; i < 40; i++) {
        s.toAll(i);
        byRange.push([...s.out.subarray(0, 40)]);
      }
      for (let i = 0; i < 40; i++) {
        for (let j = 0; j < 40; j++) expect(byRange[i][j]).toBe(byRange[j][i]);
        for (let t = 0; t < 40; t++) s.ids[t] = 39 - t;
        s.toMany(40, i);
        for (let t = 0; t < 40; t++) expect(s.out[t]).toBe(byRange[i][39 - t]);
      }
      for (let i0 = 0; i0 < 40; i0 += 8) {
        s.tile(i0, 8, 3, 7);
        for (let i = 0; i < 8; i++)
          for (let j = 0; j < 7; j++) expect(s.out[i * 7 + j]).toBe(byRange[i0 + i][3 + j]);
      }
      if (metric === "l2") {
        expect(byRange[3][39]).toBe(0);
        expect(byRange[5][5]).toBe(0);
      }
    }
  });

  it("stores the rows of `order`, zero-padded; writeRow replaces one", () => {
    const rng = new Rng(9);
    const m = randomMatrix(rng, 10, 6, 7);
    const order = Int32Array.from([9, 2, 2, 0]);
    const s = make(m, "l2", { order });
    expect(s.rows).toBe(4);
    const plain = make(m, "l2");
    for (let i = 0; i < 4; i++) {
      for (let d = 0; d < 6; d++) expect(s.data[i * s.stride + d]).toBe(m.data[order[i] * 7 + d]);
      for (let d = 6; d < s.stride; d++) expect(s.data[i * s.stride + d]).toBe(0);
      s.toAll(i);
      plain.toAll(order[i]);
      for (let j = 0; j < 4; j++) expect(s.out[j]).toBe(plain.out[order[j]]);
    }
    const row = Float32Array.from([1, 2, 3, 4, 5, 6]);
    s.writeRow(1, row);
    s.setQuery(row);
    s.toRange(1, 1);
    expect(s.out[0]).toBe(0);
  });

  it("expand: unseen neighbours in edge order (or reversed), stamped, with their distances", () => {
    const rng = new Rng(12);
    const m = randomMatrix(rng, 6, 9, 12);
    // Row r's neighbours; -1 = none, and row 4 repeats a neighbour.
    const ids = Int32Array.from([1, 2, -1, 3, 0, 2, 5, -1, 1, 3, 0, -1, 5, 1, 1, -1, 4, 0, 1, 2]);
    const graph = { ids: ids.subarray(0, 6 * 3), degree: 3 };
    const plain = make(m, "l2");
    for (const order of [undefined, Int32Array.from([5, 3, 1, 0, 2, 4])]) {
      const s = make(m, "l2", { graph, order, capacity: 1 });
      expect(s.capacity).toBe(3); // raised to the degree
      const stored = (r: number) => (order === undefined ? r : order.indexOf(r));
      const source = (p: number) => (order === undefined ? p : order[p]);
      s.setQuery(m.data, 2 * m.stride);
      plain.setQuery(m.data, 2 * m.stride);
      plain.toAll();
      const epoch = s.nextEpoch();
      s.visited[stored(2)] = epoch; // the query's own row, seen
      // Row 0: neighbours 1, 2, -1 -> 1 only (2 is seen, -1 is none).
      let fresh = s.expand(stored(0), epoch);
      expect([...s.ids.subarray(0, fresh)].map(source)).toEqual([1]);
      expect(s.out[0]).toBe(plain.out[1]);
      // Row 4: 5, 1, 1 reversed -> 1 seen -> 5.
      fresh = s.expand(stored(4), epoch, true);
      expect([...s.ids.subarray(0, fresh)].map(source)).toEqual([5]);
      // Row 1: 3, 0, 2 -> 3, 0 in order, with their distances.
      fresh = s.expand(stored(1), epoch);
      expect([...s.ids.subarray(0, fresh)].map(source)).toEqual([3, 0]);
      expect([...s.out.subarray(0, 2)]).toEqual([plain.out[3], plain.out[0]]);
      expect(s.expand(stored(1), epoch)).toBe(0); // all seen now
      // A new walk sees them afresh.
      const next = s.nextEpoch();
      expect(next).toBe(epoch + 1);
      expect(s.expand(stored(1), next, true)).toBe(3);
      expect([...s.ids.subarray(0, 3)].map(source)).toEqual([2, 0, 3]);
    }
    expect(() => make(m, "l2").expand(0, 1)).toThrow(/expand needs a graph/);
    expect(() => make(m, "l2", { graph: { ids: ids.subarray(0, 5), degree: 3 } })).toThrow(
      /graph.ids must be an Int32Array of rows \* degree = 18 ids/,
    );
    expect(() =>
      make(m, "l2", { graph: { ids: graph.ids.map((v) => (v === 5 ? 6 : v)), degree: 3 } }),
    ).toThrow(/graph.ids must hold row ids in \[-1, 6\), but holds 6/);
    expect(() => make(m, "l2", { graph, order: Int32Array.from([0, 0, 1, 2, 3, 4]) })).toThrow(
      /order must be a permutation/,
    );
  });

  it("checks counts and options", () => {
    const m = randomMatrix(new Rng(1), 5, 3, 4);
    const s = make(m, "l2", { capacity: 4 });
    expect(() => s.toMany(5)).toThrow(/count must be <= capacity, but is 5/);
    const badOption = expect.objectContaining({ name: "AnnexmlError", code: "BAD_OPTION" });
    expect(() => s.toMany(5)).toThrow(badOption);
    expect(() => s.toAll()).toThrow(badOption); // 5 rows > capacity 4
    expect(() => s.toRange(3, 3)).toThrow(badOption);
    expect(() => s.tile(0, 2, 0, 3)).toThrow(badOption);
    expect(() => createVectorSpace(m, { capacity: 0 })).toThrow(badOption);
    expect(() => createVectorSpace(m, { capacity: 0 })).toThrow(
      /capacity must be a positive integer, but is 0/,
    );
    expect(() => createVectorSpace(m, { metric: "cos" as "l2" })).toThrow(/metric must be/);
    expect(() => createVectorSpace(m, { kernel: "gpu" as "js" })).toThrow(
      /kernel must be "auto", "wasm" or "js", but is "gpu"/,
    );
    expect(() => createVectorSpace(m, { order: Int32Array.from([5]) })).toThrow(
      /order must hold row ids in \[0, 5\), but holds 5 at 0/,
    );
  });

  it("is small: one instance per space, memory for the rows and scratch only", () => {
    const rng = new Rng(2);
    const m = randomMatrix(rng, 1000, 50, 56);
    const s: VectorSpace = make(m, "l2", { capacity: 512 });
    const need = 1000 * 52 * 4 + 512 * 8 + 52 * 4;
    if (kernel === "wasm") {
      expect(s.bytes).toBeGreaterThanOrEqual(need);
      expect(s.bytes).toBeLessThan(need + 65536);
    } else {
      expect(s.bytes).toBeLessThan(8192); // reads the matrix in place
    }
  });
});
