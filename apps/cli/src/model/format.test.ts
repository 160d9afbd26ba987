import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 as zlibCrc32 } from "node:zlib";
import {
  ContainerEncoder,
  crc32,
  MODEL_FORMAT_VERSION,
  parseContainer,
  type SectionArray,
} from "@annexml/model";
import { AnnexmlError } from "@annexml/sparse-io";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { ContainerWriter, readContainer, writeContainer } from "./container.js";

const dir = await mkdtemp(join(tmpdir(), "annexml-format-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const sections: [string, SectionArray][] = [
  ["a", Int32Array.of(1, -2, 3)],
  ["b", Float32Array.of(0.5, Number.NaN, -0)],
  ["c", new Float64Array([Math.PI])],
  ["d", Uint8Array.of(9, 8, 7, 6, 5)],
  ["empty", new Float32Array(0)],
];
const meta = { hello: "wörld", n: 3 };

function expectSame(got: ReadonlyMap<string, SectionArray>) {
  expect([...got.keys()]).toEqual(sections.map(([n]) => n));
  for (const [name, array] of sections) {
    const back = got.get(name) as SectionArray;
    expect(back.constructor).toBe(array.constructor);
    expect(new Uint8Array(back.buffer, back.byteOffset, back.byteLength)).toEqual(
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength),
    );
  }
}

describe("crc32", () => {
  it("equals zlib's crc32 on any bytes, also continued", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(0xffffffff), (bytes, seed) => {
        expect(crc32(bytes)).toBe(zlibCrc32(bytes));
        expect(crc32(bytes, seed)).toBe(zlibCrc32(bytes, seed));
      }),
    );
  });
});

describe("model container, format 3", () => {
  it("round-trips sections and meta, as views of one (shared) buffer", async () => {
    const path = join(dir, "round.bin");
    const size = await writeContainer(path, meta, sections);
    const bytes = new Uint8Array(await readFile(path));
    expect(bytes.length).toBe(size);
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true)).toBe(3);
    // Format 2 has the same layout: a file of version 2 still reads, as version 2.
    const encoder2 = new ContainerEncoder(undefined, 2);
    const pieces = [encoder2.preamble];
    for (const [name, array] of sections) pieces.push(...encoder2.section(name, array));
    pieces.push(...encoder2.finish(meta));
    const v2 = new Uint8Array(Buffer.concat(pieces));
    expect(v2.length).toBe(bytes.length);
    expect(parseContainer(v2).version).toBe(2);
    expectSame(parseContainer(v2).sections);
    // The preamble's version is checked against the index's.
    const lying = v2.slice();
    lying[8] = 3;
    expect(() => parseContainer(lying)).toThrow(/the preamble says format version 3, the index 2/);
    for (const shared of [false, true]) {
      const back = await readContainer<typeof meta>(path, { shared });
      expect(back.meta).toEqual(meta);
      expect(back.version).toBe(MODEL_FORMAT_VERSION);
      expect(back.fileBytes).toBe(size);
      expectSame(back.sections);
      const buffers = new Set([...back.sections.values()].map((s) => s.buffer));
      expect(buffers.size).toBe(1);
      expect([...buffers][0] instanceof SharedArrayBuffer).toBe(shared);
    }
    // From bytes (the browser path), also from a Uint8Array at an odd offset.
    expectSame(parseContainer(bytes).sections);
    const odd = new Uint8Array(bytes.length + 3);
    odd.set(bytes, 3);
    expectSame(parseContainer(odd.subarray(3)).sections);
  });

  it("streams sections one at a time, 64-byte aligned", async () => {
    const path = join(dir, "stream.bin");
    const writer = await ContainerWriter.open(path);
    for (const [name, array] of sections) await writer.section(name, array);
    await expect(writer.section("a", new Int32Array(1))).rejects.toThrow(/duplicate/);
    await writer.finish(meta);
    const bytes = new Uint8Array(await readFile(path));
    const back = parseContainer(bytes);
    expectSame(back.sections);
    for (const s of back.sections.values()) expect(s.byteOffset % 64).toBe(0);
  });

  it("refuses every single changed byte, anywhere in the file", async () => {
    const path = join(dir, "flip.bin");
    await writeContainer(path, meta, sections);
    const bytes = new Uint8Array(await readFile(path));
    for (let at = 0; at < bytes.length; at++) {
      for (const mask of [0x01, 0x80]) {
        const copy = bytes.slice();
        copy[at] ^= mask;
        let error: unknown = null;
        try {
          parseContainer(copy, "flip.bin");
        } catch (e) {
          error = e;
        }
        expect(error, `byte ${at} ^ ${mask} was accepted`).toBeInstanceOf(AnnexmlError);
      }
    }
  });

  it("refuses truncated and extended files, and files of a newer version", async () => {
    const path = join(dir, "trunc.bin");
    await writeContainer(path, meta, sections);
    const bytes = new Uint8Array(await readFile(path));
    for (const n of [0, 7, 12, 63, 64, 100, bytes.length - 33, bytes.length - 1]) {
      expect(() => parseContainer(bytes.subarray(0, n))).toThrow(AnnexmlError);
    }
    const longer = new Uint8Array(bytes.length + 64);
    longer.set(bytes);
    expect(() => parseContainer(longer)).toThrow(AnnexmlError);
    const newer = bytes.slice();
    new DataView(newer.buffer).setUint32(8, MODEL_FORMAT_VERSION + 1, true);
    expect(() => parseContainer(newer)).toThrow(/newer than this annexml reads/);
    expect(() => parseContainer(new TextEncoder().encode("1 2:3\n".repeat(20)))).toThrow(
      /not an annexml model/,
    );
  });
});
