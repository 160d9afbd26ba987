import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  decodeF16,
  decodeInt8Rows,
  decodeU16,
  encodeF16,
  encodeInt8Rows,
  encodeU16,
  f16ToF32,
  f32ToF16,
  fitsU16,
  parseContainer,
} from "@annexml/model";
import { afterAll, describe, expect, it } from "vitest";
import { readContainer, writeContainer } from "./container.js";

const dir = await mkdtemp(join(tmpdir(), "annexml-compact-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The scalar reference: IEEE 754 binary16 by its definition. */
function referenceF16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

const ALL = Uint16Array.from({ length: 65536 }, (_, h) => h);
const isNaNPattern = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

describe("float16", () => {
  it("decodes every one of the 65536 bit patterns like the reference (table and bit path)", () => {
    const table = decodeF16(ALL);
    for (let h = 0; h < 65536; h++) {
      const want = referenceF16(h);
      if (Number.isNaN(want)) {
        expect(Number.isNaN(table[h]) && Number.isNaN(f16ToF32(h))).toBe(true);
      } else {
        expect(Object.is(table[h], want)).toBe(true);
        expect(Object.is(f16ToF32(h), want)).toBe(true);
      }
    }
  });

  it("encodes every representable value back to its pattern (signed zeros, subnormals, infinities)", () => {
    const back = encodeF16(decodeF16(ALL));
    for (let h = 0; h < 65536; h++) {
      if (isNaNPattern(h)) expect(isNaNPattern(back[h])).toBe(true);
      else expect(back[h]).toBe(h);
    }
  });

  it("rounds to nearest, ties to even, between every two neighbouring values", () => {
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (const sign of [0, 0x8000]) {
      // Neighbours a < b in magnitude, up to the largest finite (0x7bff) and infinity.
      for (let a = 0; a < 0x7c00; a++) {
        const lo = referenceF16(a | sign);
        const hi = a === 0x7bff ? (sign ? -65536 : 65536) : referenceF16((a + 1) | sign);
        const mid = (lo + hi) / 2; // exact in float32 (12 significant bits)
        expect(Math.fround(mid)).toBe(mid);
        const even = (a & 1) === 0 ? a : a + 1;
        expect(f32ToF16(mid)).toBe(even | sign);
        // One float32 step either side of the midpoint goes to the nearer value.
        f[0] = mid;
        const bits = u[0];
        u[0] = bits - 1;
        expect(f32ToF16(f[0])).toBe(a | sign);
        u[0] = bits + 1;
        expect(f32ToF16(f[0])).toBe((a + 1) | sign);
      }
    }
    expect(f32ToF16(1e9)).toBe(0x7c00);
    expect(f32ToF16(-1e-12)).toBe(0x8000);
    expect(isNaNPattern(f32ToF16(Number.NaN))).toBe(true);
  });
});

describe("int8 rows", () => {
  it("keeps every value within scale / 2 (scale = max|row| / 127) and zero rows zero", () => {
    let seed = 12345;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32 - 0.5;
    };
    const cols = 52;
    const rows = 300;
    const src = new Float32Array(rows * cols).map((_, i) =>
      Math.floor(i / cols) % 7 === 3 ? 0 : random() * 10 ** ((i % 5) - 2),
    );
    const { q, scale } = encodeInt8Rows(src, cols);
    const out = decodeInt8Rows(q, scale);
    for (let r = 0; r < rows; r++) {
      let max = 0;
      for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(src[r * cols + c]));
      expect(scale[r]).toBe(Math.fround(max / 127));
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c;
        expect(Math.abs(q[i])).toBeLessThanOrEqual(127);
        expect(out[i]).toBe(Math.fround(q[i] * scale[r]));
        expect(Math.abs(out[i] - src[i])).toBeLessThanOrEqual((scale[r] / 2) * (1 + 1e-6));
        if (max === 0) expect(q[i] === 0 && out[i] === 0).toBe(true);
      }
    }
  });

  it("rounds halves away from zero and clamps to [-127, 127]", () => {
    const { q, scale } = encodeInt8Rows(Float32Array.of(127, 0.5, -0.5, 1.5, -2.5, -127), 6);
    expect(scale[0]).toBe(1);
    expect([...q]).toEqual([127, 1, -1, 2, -3, -127]);
  });
});

describe("u16 ids", () => {
  it("round-trips [-1, 65534] and refuses what does not fit", () => {
    const ids = Int32Array.of(-1, 0, 1, 65534, 300, -1);
    expect(fitsU16(ids)).toBe(true);
    expect(decodeU16(encodeU16(ids))).toEqual(ids);
    expect(fitsU16(Int32Array.of(65535))).toBe(false);
    expect(fitsU16(Int32Array.of(-2))).toBe(false);
  });
});

describe("compact sections in the container", () => {
  const weights = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i) * 3);
  const ids = Int32Array.of(3, -1, 7, 0, 65534);
  const write = (path: string) =>
    writeContainer(path, { m: 1 }, [
      ["w16", weights, "f16"],
      ["w8", weights, "i8", 8],
      ["ids", ids, "u16"],
      ["plain", weights],
      ["none16", new Float32Array(0), "f16"],
      ["none8", new Float32Array(0), "i8", 8],
    ]);

  it("stores f16 / i8 + scale / u16 and decodes them on read (also on shared memory)", async () => {
    const path = join(dir, "compact.bin");
    await write(path);
    for (const shared of [false, true]) {
      const back = await readContainer(path, { shared });
      expect([...back.stored]).toEqual([
        ["w16", "f16"],
        ["w8", "i8"],
        ["ids", "u16"],
        ["plain", "f32"],
        ["none16", "f16"],
        ["none8", "i8"],
      ]);
      expect(back.sections.has("w8.scale")).toBe(false);
      expect(back.sections.get("w16")).toEqual(decodeF16(encodeF16(weights)));
      const { q, scale } = encodeInt8Rows(weights, 8);
      expect(back.sections.get("w8")).toEqual(decodeInt8Rows(q, scale));
      expect(back.sections.get("ids")).toEqual(ids);
      expect(back.sections.get("none8")).toEqual(new Float32Array(0));
      for (const array of back.sections.values()) {
        expect(array.buffer instanceof SharedArrayBuffer).toBe(shared);
      }
    }
    const text = new TextDecoder().decode(await readFile(path));
    const index = JSON.parse(text.slice(text.indexOf('{"format"'), text.lastIndexOf("}") + 1));
    expect(
      index.sections.map((s: { name: string; type: string }) => `${s.name}:${s.type}`),
    ).toEqual(expect.arrayContaining(["w16:f16", "w8:i8", "w8.scale:f32", "ids:u16"]));
  });

  it("refuses a flipped byte in any compact section (the CRC covers the stored bytes)", async () => {
    const path = join(dir, "flip.bin");
    await write(path);
    const bytes = new Uint8Array(await readFile(path));
    const back = parseContainer(bytes.slice());
    expect(back.sections.size).toBe(6);
    // The sections are at 64-byte aligned offsets from 64, in order: w16, w8, w8.scale, ids.
    for (const [offset, name] of [
      [64, "w16"],
      [128, "w8"],
      [192, "w8.scale"],
      [256, "ids"],
    ] as const) {
      const copy = bytes.slice();
      copy[offset + 1] ^= 0x10;
      const flipped = join(dir, `flip-${name}.bin`);
      await writeFile(flipped, copy);
      await expect(readContainer(flipped)).rejects.toThrow(
        new RegExp(`section '${name.replace(".", "\\.")}' fails its CRC32 check`),
      );
    }
  });

  it("stores rows without their zero padding and restores it (f16 and i8)", async () => {
    // 3 rows of stride 4, 3 values each + one zero.
    const padded = Float32Array.of(1, -2, 0.5, 0, 0, 0, 0, 0, 3, 0.25, -1, 0);
    const path = join(dir, "padded.bin");
    await writeContainer(path, {}, [
      ["p16", padded, "f16", 4, 3],
      ["p8", padded, "i8", 4, 3],
    ]);
    const back = await readContainer(path);
    expect(back.sections.get("p16")).toEqual(padded);
    const p8 = back.sections.get("p8") as Float32Array;
    expect(p8.length).toBe(12);
    for (let i = 0; i < 12; i++) {
      if (i % 4 === 3) expect(p8[i]).toBe(0);
      else expect(Math.abs(p8[i] - padded[i])).toBeLessThanOrEqual(3 / 127 / 2 + 1e-7);
    }
    const text = new TextDecoder().decode(await readFile(path));
    expect(text).toContain('"padded":{"cols":3,"stride":4}');
    expect(text.match(/"name":"p16","type":"f16","length":9/)).not.toBeNull();
    await expect(
      writeContainer(join(dir, "bad.bin"), {}, [["x", Float32Array.of(1, 2), "f16", 2, 1]]),
    ).rejects.toThrow(/row 0 has non-zero padding/);
  });

  it("refuses an i8 section without its scales", async () => {
    const path = join(dir, "noscale.bin");
    await writeContainer(path, {}, [["w8", weights, "i8", 8]]);
    const text = new TextDecoder().decode(await readFile(path));
    // Rename the scale section in the index (same length, CRC of the index fixed by re-encoding).
    expect(text).toContain('"w8.scale"');
    const { encodeIndexAndTrailer } = await import("@annexml/model");
    const bytes = new Uint8Array(await readFile(path));
    const c = parseContainer<unknown>(bytes.slice());
    expect(c.sections.get("w8")).toBeInstanceOf(Float32Array);
    const index = JSON.parse(text.slice(text.indexOf('{"format"'), text.lastIndexOf("}") + 1));
    index.sections[1].name = "w8.other";
    const start = bytes.indexOf(0x7b, 64 * 2);
    const tail = encodeIndexAndTrailer(start, index.meta, index.sections);
    const edited = new Uint8Array(start + tail.length);
    edited.set(bytes.subarray(0, start));
    edited.set(tail, start);
    // fileBytes is settled by encodeIndexAndTrailer for this start offset.
    expect(() => parseContainer(edited)).toThrow(/lacks its 'w8\.scale' section/);
  });
});
