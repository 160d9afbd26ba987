import { open, stat } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { AnnexmlError, AtomicFileWriter } from "@annexml/sparse-io";

/**
 * The model container: magic bytes, a format version, a JSON header (the
 * model's parameters, statistics, versions and the table of sections), then
 * typed-array sections, each 64-byte aligned and guarded by a CRC32.
 *
 * ```
 * [0, 8)    magic  89 41 58 4D 4C 0D 0A 1A   ("\x89AXML\r\n\x1a": catches text-mode mangling)
 * [8, 12)   u32 LE format version
 * [12, 16)  u32 LE byte length of the JSON header
 * [16, 20)  u32 LE CRC32 of the JSON header
 * [20, 24)  reserved (0)
 * [24, ..)  JSON header, UTF-8; then zero padding to 64
 * sections  at the offsets the header lists, little-endian, 64-byte aligned
 * ```
 */
export const MODEL_MAGIC = Uint8Array.of(0x89, 0x41, 0x58, 0x4d, 0x4c, 0x0d, 0x0a, 0x1a);
export const MODEL_FORMAT_VERSION = 1;
const PREAMBLE_BYTES = 24;
const ALIGN = 64;
/** CRC32 and reads go in pieces so no single call sees more than this. */
const PIECE_BYTES = 1 << 28;

export type SectionArray = Int32Array | Float32Array | Float64Array | Uint8Array;
export type SectionType = "i32" | "f32" | "f64" | "u8";

/** One entry of the header's section table. */
export interface SectionEntry {
  name: string;
  type: SectionType;
  /** Number of elements. */
  length: number;
  /** Byte offset from the start of the file. */
  offset: number;
  crc32: number;
}

interface ContainerHeader<M> {
  format: "annexml-ts-model";
  version: number;
  fileBytes: number;
  meta: M;
  sections: SectionEntry[];
}

const TYPES: Record<
  SectionType,
  { bytes: number; make: (b: ArrayBufferLike, o: number, n: number) => SectionArray }
> = {
  i32: { bytes: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  f32: { bytes: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  f64: { bytes: 8, make: (b, o, n) => new Float64Array(b, o, n) },
  u8: { bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
};

function typeOf(array: SectionArray): SectionType {
  if (array instanceof Int32Array) return "i32";
  if (array instanceof Float32Array) return "f32";
  if (array instanceof Float64Array) return "f64";
  return "u8";
}

function bytesOf(array: SectionArray): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

function checksum(bytes: Uint8Array): number {
  let value = 0;
  for (let at = 0; at < bytes.length; at += PIECE_BYTES) {
    value = crc32(bytes.subarray(at, Math.min(bytes.length, at + PIECE_BYTES)), value);
  }
  return value >>> 0;
}

const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/**
 * Writes a container atomically (temporary file, then rename): a crash
 * mid-write leaves whatever `path` held before. Returns the file size.
 */
export async function writeContainer<M>(
  path: string,
  meta: M,
  sections: ReadonlyArray<readonly [string, SectionArray]>,
): Promise<number> {
  const names = new Set<string>();
  const entries: SectionEntry[] = sections.map(([name, array]) => {
    if (names.has(name)) throw new Error(`duplicate model section '${name}'`);
    names.add(name);
    return {
      name,
      type: typeOf(array),
      length: array.length,
      offset: 0,
      crc32: checksum(bytesOf(array)),
    };
  });
  // The header holds the offsets, which depend on the header's own length:
  // lay out with a guess, and redo until the header fits before the first section.
  let headerBytes = new Uint8Array(0);
  let dataStart = alignUp(PREAMBLE_BYTES + 1024 + 64 * entries.length);
  let fileBytes = 0;
  for (;;) {
    let at = dataStart;
    for (const entry of entries) {
      entry.offset = at;
      at = alignUp(at + entry.length * TYPES[entry.type].bytes);
    }
    fileBytes = at;
    const header: ContainerHeader<M> = {
      format: "annexml-ts-model",
      version: MODEL_FORMAT_VERSION,
      fileBytes,
      meta,
      sections: entries,
    };
    headerBytes = new TextEncoder().encode(JSON.stringify(header));
    if (PREAMBLE_BYTES + headerBytes.length <= dataStart) break;
    dataStart = alignUp(PREAMBLE_BYTES + headerBytes.length + 1024);
  }

  const preamble = new Uint8Array(PREAMBLE_BYTES);
  preamble.set(MODEL_MAGIC, 0);
  const view = new DataView(preamble.buffer);
  view.setUint32(8, MODEL_FORMAT_VERSION, true);
  view.setUint32(12, headerBytes.length, true);
  view.setUint32(16, checksum(headerBytes), true);

  const writer = await AtomicFileWriter.open(path);
  try {
    await writer.write(preamble);
    await writer.write(headerBytes);
    let at = PREAMBLE_BYTES + headerBytes.length;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (entry.offset > at) await writer.write(new Uint8Array(entry.offset - at));
      const bytes = bytesOf(sections[i][1]);
      await writer.write(bytes);
      at = entry.offset + bytes.length;
    }
    if (fileBytes > at) await writer.write(new Uint8Array(fileBytes - at));
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return fileBytes;
}

/** A container read back: its meta data and sections by name. */
export interface Container<M> {
  meta: M;
  sections: Map<string, SectionArray>;
  fileBytes: number;
}

function bad(path: string, reason: string): AnnexmlError {
  return new AnnexmlError("BAD_FORMAT", reason, { file: path });
}

/**
 * Reads a container, checking everything before trusting it: the magic, the
 * format version, the header's CRC, every section's bounds against the file
 * size (before allocating) and its CRC. With `shared`, sections land on
 * `SharedArrayBuffer`s so worker threads can use them without copies.
 */
export async function readContainer<M>(
  path: string,
  options: { shared?: boolean } = {},
): Promise<Container<M>> {
  let size: number;
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    size = (await stat(path)).size;
    handle = await open(path, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AnnexmlError(
      "FILE_UNREADABLE",
      `cannot read model (${code === "ENOENT" ? "no such file" : (error as Error).message})`,
      { file: path },
    );
  }
  try {
    const preamble = new Uint8Array(PREAMBLE_BYTES);
    const { bytesRead } = await handle.read(preamble, 0, PREAMBLE_BYTES, 0);
    if (bytesRead < PREAMBLE_BYTES || MODEL_MAGIC.some((b, i) => preamble[i] !== b)) {
      throw bad(
        path,
        "not an annexml model (wrong magic bytes; a model of the original C++ AnnexML must be converted with `annexml import`)",
      );
    }
    const view = new DataView(preamble.buffer);
    const version = view.getUint32(8, true);
    if (version > MODEL_FORMAT_VERSION) {
      throw bad(
        path,
        `model format version ${version} is newer than this annexml reads (${MODEL_FORMAT_VERSION}); upgrade @annexml/cli`,
      );
    }
    if (version < 1) throw bad(path, `invalid model format version ${version}`);
    const headerLength = view.getUint32(12, true);
    if (PREAMBLE_BYTES + headerLength > size) {
      throw bad(
        path,
        `truncated model: the header needs ${PREAMBLE_BYTES + headerLength} bytes, the file has ${size}`,
      );
    }
    const headerBytes = new Uint8Array(headerLength);
    await handle.read(headerBytes, 0, headerLength, PREAMBLE_BYTES);
    if (checksum(headerBytes) !== view.getUint32(16, true))
      throw bad(path, "corrupted model: the header fails its CRC32 check");
    const header = JSON.parse(new TextDecoder().decode(headerBytes)) as ContainerHeader<M>;
    if (header.fileBytes > size) {
      throw bad(path, `truncated model: ${size} bytes of ${header.fileBytes}`);
    }
    const sections = new Map<string, SectionArray>();
    for (const entry of header.sections) {
      const type = TYPES[entry.type];
      const byteLength = entry.length * (type?.bytes ?? Number.NaN);
      if (!type || !(byteLength >= 0) || entry.offset < 0 || entry.offset + byteLength > size) {
        throw bad(
          path,
          `truncated or corrupted model: section '${entry.name}' lies outside the file`,
        );
      }
      const buffer = options.shared
        ? new SharedArrayBuffer(byteLength)
        : new ArrayBuffer(byteLength);
      const bytes = new Uint8Array(buffer);
      for (let at = 0; at < byteLength; at += PIECE_BYTES) {
        const n = Math.min(PIECE_BYTES, byteLength - at);
        await handle.read(bytes, at, n, entry.offset + at);
      }
      if (checksum(bytes) !== entry.crc32) {
        throw bad(path, `corrupted model: section '${entry.name}' fails its CRC32 check`);
      }
      sections.set(entry.name, type.make(buffer, 0, entry.length));
    }
    return { meta: header.meta, sections, fileBytes: header.fileBytes };
  } finally {
    await handle.close();
  }
}
