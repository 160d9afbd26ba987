import { afterEach, describe, expect, it, vi } from "vitest";
import wabtInit from "wabt";
import { Rng } from "./random.js";
import {
  compileWasm,
  createSharedWasmMemory,
  decodeBase64,
  instantiateWasm,
  WASM_PAGE_BYTES,
} from "./wasm.js";

async function compileWat(source: string): Promise<string> {
  const wabt = await wabtInit();
  const module = wabt.parseWat("test.wat", source, { simd: true });
  module.validate();
  const { buffer } = module.toBinary({ log: false, write_debug_names: false });
  module.destroy();
  return Buffer.from(buffer).toString("base64");
}

// Sums the lanes of 4 floats at an address: needs fixed-width SIMD.
const SIMD_WAT = `(module
  (memory (export "memory") 1)
  (func (export "sum") (param $p i32) (result f32)
    (local $v v128)
    (local.set $v (v128.load (local.get $p)))
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v))))))`;

interface SumExports {
  memory: { buffer: ArrayBuffer };
  sum(p: number): number;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("decodeBase64", () => {
  it("matches Node's decoder for every length and padding", () => {
    const rng = new Rng(3);
    for (let n = 0; n < 70; n++) {
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) bytes[i] = rng.nextInt(256);
      const text = Buffer.from(bytes).toString("base64");
      expect(decodeBase64(text)).toEqual(bytes);
      expect(decodeBase64(text.replace(/=+$/, ""))).toEqual(bytes);
    }
  });
});

describe("compileWasm", () => {
  it("compiles a SIMD module once, and instances have their own memory", async () => {
    const base64 = await compileWat(SIMD_WAT);
    const module = compileWasm(base64);
    expect(module).not.toBeNull();
    expect(compileWasm(base64)).toBe(module); // cached
    const a = instantiateWasm(module as object)?.exports as SumExports;
    const b = instantiateWasm(module as object)?.exports as SumExports;
    new Float32Array(a.memory.buffer, 16, 4).set([1, 2, 3, 4.5]);
    expect(a.sum(16)).toBe(10.5);
    expect(b.sum(16)).toBe(0);
  });

  it("returns null for bytes the platform rejects, and without WebAssembly", async () => {
    expect(compileWasm("AGFzbQEAAAAB")).toBeNull(); // a truncated module
    const other = await compileWat(SIMD_WAT.replace("sum", "total"));
    vi.stubGlobal("WebAssembly", undefined);
    expect(compileWasm(other)).toBeNull();
  });
});

describe("createSharedWasmMemory", () => {
  it("gives a zeroed shared memory of whole pages that grows without moving its bytes", () => {
    const memory = createSharedWasmMemory(100_000, 4);
    if (memory === null) throw new Error("no shared WebAssembly memory on Node?");
    expect(memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(memory.buffer.byteLength).toBe(2 * WASM_PAGE_BYTES);
    const before = new Uint8Array(memory.buffer);
    expect(before.every((b) => b === 0)).toBe(true);
    before[5] = 7;
    expect(memory.grow(2)).toBe(2); // the old size in pages: where the new ones start
    expect(before.length).toBe(2 * WASM_PAGE_BYTES); // the old view is still live
    expect(new Uint8Array(memory.buffer)[5]).toBe(7);
    expect(() => memory.grow(1)).toThrow(); // past its maximum
  });

  it("returns null when it cannot be made", () => {
    expect(createSharedWasmMemory(5 * WASM_PAGE_BYTES, 4)).toBeNull(); // more than the maximum
    vi.stubGlobal("WebAssembly", undefined);
    expect(createSharedWasmMemory(100)).toBeNull();
    vi.unstubAllGlobals();
  });
});
