import { AnnexmlError } from "@annexml/sparse-io";
import {
  decodeF16,
  decodeInt8Rows,
  decodeU16,
  encodeF16,
  encodeInt8Rows,
  encodeU16,
  fitsU16,
} from "./compact.js";
import { type Crc32, crc32 as jsCrc32 } from "./crc32.js";

/**
 * The model container, bytes in and bytes out; no `node:` import (the CLI's
 * file helpers wrap it). The layout is specified in
 * `docs/MODEL_FORMAT.md`; in short, version 3 (the layout of 2; 3 may
 * hold partitioner biases, which a reader of 2 would ignore and so route
 * rows wrongly: it must refuse them):
 *
 * ```
 * [0, 8)     magic 89 41 58 4D 4C 0D 0A 1A ("\x89AXML\r\n\x1a")
 * [8, 12)    u32 LE format version (3)
 * [12, 64)   zero (reserved: a reader refuses any other byte)
 * sections   typed arrays, little-endian, each at a 64-byte aligned offset,
 *            in the order they were written; zero padding between
 * index      JSON (UTF-8) at a 64-byte aligned offset after the sections:
 *            meta data and the table of sections (name, type, length,
 *            offset, CRC32); zero padding to a multiple of 8
 * trailer    the last 32 bytes: u64 index offset, u64 index length,
 *            u32 CRC32 of the index, u32 CRC32 of trailer bytes [0, 20),
 *            end magic "AXMLEND\x1a"
 * ```
 *
 * Every byte is checked: the preamble's reserved bytes and all padding must
 * be zero, the index, the trailer and every section carry a CRC32. The
 * index comes last so a writer can stream sections as they are produced;
 * sections are aligned so one buffer holding the whole file serves every
 * section as a typed-array view (no copies; shared across threads when the
 * buffer is a SharedArrayBuffer). Compact sections (`f16`, `i8` with its
 * `<name>.scale`, `u16`) are decoded once on read into float32 / int32
 * arrays (on shared memory when the file's buffer is). Version 1 (index
 * first, 24-byte preamble) is still read.
 */
export const MODEL_MAGIC = Uint8Array.of(0x89, 0x41, 0x58, 0x4d, 0x4c, 0x0d, 0x0a, 0x1a);
export const END_MAGIC = Uint8Array.of(0x41, 0x58, 0x4d, 0x4c, 0x45, 0x4e, 0x44, 0x1a);
export const MODEL_FORMAT_VERSION = 3;
export const PREAMBLE_BYTES = 64;
export const TRAILER_BYTES = 32;
export const ALIGN = 64;
/** Version 1: magic, version, index length, index CRC32, reserved u32; the index follows. */
const V1_PREAMBLE_BYTES = 24;

/** The arrays a container holds (compact sections are decoded to these). */
export type SectionArray = Int32Array | Float32Array | Float64Array | Uint8Array;
/**
 * How a section is stored: `i32`, `f32`, `f64`, `u8` as themselves; the
 * compact ones decoded on read: `f16` (binary16, to Float32), `i8` (int8
 * codes with a sibling `f32` section `<name>.scale` of one scale per row, to
 * Float32), `u16` (Int32 values in [-1, 65534], -1 as 0xFFFF, to Int32).
 */
export type SectionType = "i32" | "f32" | "f64" | "u8" | "f16" | "i8" | "u16";
/** A compact storage a writer can ask for (see {@link encodeSection}). */
export type SectionEncoding = "f16" | "i8" | "u16";
type StoredArray = SectionArray | Uint16Array | Int8Array;

/** One entry of the index's section table. */
export interface SectionEntry {
  name: string;
  type: SectionType;
  /** Number of elements. */
  length: number;
  /** Byte offset from the start of the file. */
  offset: number;
  crc32: number;
  /**
   * Compact sections only: the decoded array has rows of `stride` values of
   * which the first `cols` are stored (the rest are zero padding, not stored).
   */
  padded?: { cols: number; stride: number };
}

/** The JSON index (version 1 called it the header). */
export interface ContainerIndex<M> {
  format: "annexml-ts-model";
  version: number;
  fileBytes: number;
  meta: M;
  sections: SectionEntry[];
}

/** A container read back: its meta data and sections by name (views into one buffer, or decoded). */
export interface Container<M> {
  meta: M;
  sections: Map<string, SectionArray>;
  /** How each section of `sections` was stored (an `i8` section's `.scale` sibling is not listed). */
  stored: Map<string, SectionType>;
  fileBytes: number;
  version: number;
}

/** Per stored type: bytes per element and the view of its stored bytes. */
export const SECTION_TYPES: Record<
  SectionType,
  { bytes: number; make: (b: ArrayBufferLike, o: number, n: number) => StoredArray }
> = {
  i32: { bytes: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  f32: { bytes: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  f64: { bytes: 8, make: (b, o, n) => new Float64Array(b, o, n) },
  u8: { bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  f16: { bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  i8: { bytes: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  u16: { bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
};

/** One piece of a section as stored: its name, type and bytes. */
export interface StoredSection {
  name: string;
  type: SectionType;
  length: number;
  bytes: Uint8Array;
  padded?: { cols: number; stride: number };
}

/**
 * The stored pieces of section `name`: as itself without `encoding`; with
 * `"f16"` (a Float32Array) one `f16` piece; with `"i8"` (a Float32Array of
 * rows of `rowLength`) an `i8` piece and its `<name>.scale` `f32` piece;
 * with `"u16"` (an Int32Array of values in [-1, 65534]) one `u16` piece.
 * With `cols < rowLength` (f16, i8), only the first `cols` values of each
 * row are stored: the rest must be zero padding (`padded` in the index).
 * An encoding that does not apply to the array is a TypeError.
 */
export function encodeSection(
  name: string,
  array: SectionArray,
  encoding?: SectionEncoding,
  rowLength = 0,
  cols = rowLength,
): StoredSection[] {
  const piece = (n: string, type: SectionType, a: StoredArray): StoredSection => ({
    name: n,
    type,
    length: a.length,
    bytes: new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
  });
  if (encoding === undefined) return [piece(name, sectionType(array), array)];
  if (encoding === "u16") {
    if (!(array instanceof Int32Array) || !fitsU16(array))
      throw new TypeError(`section '${name}': u16 needs Int32 values in [-1, 65534]`);
    return [piece(name, "u16", encodeU16(array))];
  }
  if (!(array instanceof Float32Array))
    throw new TypeError(`section '${name}': ${encoding} needs a Float32Array`);
  let values = array;
  let padded: StoredSection["padded"];
  if (rowLength > 0 && cols > 0 && cols < rowLength) {
    values = dropPadding(array, rowLength, cols, name);
    padded = { cols, stride: rowLength };
  }
  if (encoding === "f16") return [{ ...piece(name, "f16", encodeF16(values)), padded }];
  const width = padded ? cols : rowLength;
  if (!(width > 0) || values.length % width !== 0)
    throw new TypeError(`section '${name}': i8 needs rows (${values.length} % ${width})`);
  const { q, scale } = encodeInt8Rows(values, width);
  return [{ ...piece(name, "i8", q), padded }, piece(`${name}.scale`, "f32", scale)];
}

/** The first `cols` of every `stride` values (the rest must be zero). */
function dropPadding(src: Float32Array, stride: number, cols: number, name: string): Float32Array {
  if (src.length % stride !== 0)
    throw new TypeError(`section '${name}': ${src.length} values are not rows of ${stride}`);
  const rows = src.length / stride;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = cols; c < stride; c++) {
      if (src[r * stride + c] !== 0)
        throw new TypeError(`section '${name}': row ${r} has non-zero padding`);
    }
    out.set(src.subarray(r * stride, r * stride + cols), r * cols);
  }
  return out;
}

/** Rows of `cols` values spread to rows of `stride` (zero padding) in `out`. */
function addPadding(src: Float32Array, cols: number, stride: number, out: Float32Array): void {
  const rows = src.length / cols;
  for (let r = 0; r < rows; r++) out.set(src.subarray(r * cols, (r + 1) * cols), r * stride);
}

export function sectionType(array: SectionArray): SectionType {
  if (array instanceof Int32Array) return "i32";
  if (array instanceof Float32Array) return "f32";
  if (array instanceof Float64Array) return "f64";
  if (array instanceof Uint8Array) return "u8";
  throw new TypeError(`unsupported section array ${(array as object).constructor.name}`);
}

export function bytesOf(array: SectionArray): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

export const alignUp = (n: number, to = ALIGN) => Math.ceil(n / to) * to;

/** CRC-32 in pieces, so no single call sees more than 256 MB (zlib's limit is 4 GB). */
export function checksum(bytes: Uint8Array, crc: Crc32 = jsCrc32): number {
  const piece = 1 << 28;
  let value = 0;
  for (let at = 0; at < bytes.length; at += piece) {
    value = crc(bytes.subarray(at, Math.min(bytes.length, at + piece)), value);
  }
  return value >>> 0;
}

/** The preamble of a file of `version` (default: the current one; 2 and 3 share the layout). */
export function encodePreamble(version = MODEL_FORMAT_VERSION): Uint8Array {
  const out = new Uint8Array(PREAMBLE_BYTES);
  out.set(MODEL_MAGIC, 0);
  new DataView(out.buffer).setUint32(8, version, true);
  return out;
}

/**
 * The index JSON (zero-padded to a multiple of 8) and the trailer that ends
 * a file of `version` (default: the current one; 2 and 3 share the layout)
 * whose index starts at `indexOffset`.
 */
export function encodeIndexAndTrailer<M>(
  indexOffset: number,
  meta: M,
  sections: readonly SectionEntry[],
  crc: Crc32 = jsCrc32,
  version = MODEL_FORMAT_VERSION,
): Uint8Array {
  const index: ContainerIndex<M> = {
    format: "annexml-ts-model",
    version,
    fileBytes: 0,
    meta,
    sections: sections as SectionEntry[],
  };
  // fileBytes depends on the index's own length: settle it (two rounds at most
  // once the number of digits stops changing).
  let json = new Uint8Array(0);
  for (let round = 0; round < 4; round++) {
    json = new TextEncoder().encode(JSON.stringify(index));
    const fileBytes = alignUp(indexOffset + json.length, 8) + TRAILER_BYTES;
    if (fileBytes === index.fileBytes) break;
    index.fileBytes = fileBytes;
  }
  const padded = alignUp(json.length, 8);
  const out = new Uint8Array(padded + TRAILER_BYTES);
  out.set(json, 0);
  const trailer = new DataView(out.buffer, padded, TRAILER_BYTES);
  trailer.setBigUint64(0, BigInt(indexOffset), true);
  trailer.setBigUint64(8, BigInt(json.length), true);
  trailer.setUint32(16, checksum(json, crc), true);
  trailer.setUint32(20, checksum(out.subarray(padded, padded + 20), crc), true);
  out.set(END_MAGIC, padded + 24);
  return out;
}

/** A section to write, optionally compact (`rowLength`: the row width of an `i8` section). */
export type SectionSpec = readonly [
  name: string,
  array: SectionArray,
  encoding?: SectionEncoding,
  rowLength?: number,
  cols?: number,
];

/**
 * Builds a container of the current version piece by piece, in the order of the file:
 * the constructor's {@link preamble}, then each {@link section} as it is
 * produced, then {@link finish}. Every call returns the bytes to append
 * (nothing is kept but the small table), so a writer can stream a model
 * to a file, a socket or memory. `crc`: a faster CRC-32 where there is one.
 */
export class ContainerEncoder {
  readonly preamble: Uint8Array;
  private readonly entries: SectionEntry[] = [];
  private readonly names = new Set<string>();
  private at = PREAMBLE_BYTES;

  /** `version`: 2 writes the previous version (same layout; for files without partitioner biases). */
  constructor(
    private readonly crc: Crc32 = jsCrc32,
    private readonly version = MODEL_FORMAT_VERSION,
  ) {
    if (version !== 2 && version !== MODEL_FORMAT_VERSION)
      throw new RangeError(
        `a container is written as version 2 or ${MODEL_FORMAT_VERSION}, not ${version}`,
      );
    this.preamble = encodePreamble(version);
  }

  /** Bytes returned so far, the preamble included. */
  get size(): number {
    return this.at;
  }

  /**
   * One section (64-byte aligned, CRC-checked on read), stored as itself
   * or in a compact `encoding` (an `i8` section also writes its
   * `<name>.scale`; the CRC covers the stored bytes). `cols < rowLength`:
   * only the first `cols` of each row are stored (the rest is zero padding).
   * The returned bytes are views of `array` where no encoding applies.
   */
  section(
    name: string,
    array: SectionArray,
    encoding?: SectionEncoding,
    rowLength?: number,
    cols?: number,
  ): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const piece of encodeSection(name, array, encoding, rowLength, cols))
      out.push(...this.stored(piece));
    return out;
  }

  /** One piece exactly as stored (e.g. read by {@link parseStoredContainer}): its bytes are not re-encoded. */
  stored(piece: StoredSection): Uint8Array[] {
    if (this.names.has(piece.name)) throw new Error(`duplicate model section '${piece.name}'`);
    if (piece.bytes.length !== piece.length * SECTION_TYPES[piece.type].bytes)
      throw new Error(
        `model section '${piece.name}': ${piece.bytes.length} bytes for ${piece.length} ${piece.type}`,
      );
    this.names.add(piece.name);
    const out: Uint8Array[] = [];
    this.padTo(alignUp(this.at), out);
    this.entries.push({
      name: piece.name,
      type: piece.type,
      length: piece.length,
      offset: this.at,
      crc32: checksum(piece.bytes, this.crc),
      ...(piece.padded ? { padded: piece.padded } : {}),
    });
    out.push(piece.bytes);
    this.at += piece.bytes.length;
    return out;
  }

  /** The padding, the index (with `meta`) and the trailer that end the file. */
  finish<M>(meta: M): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.padTo(alignUp(this.at), out);
    const tail = encodeIndexAndTrailer(this.at, meta, this.entries, this.crc, this.version);
    out.push(tail);
    this.at += tail.length;
    return out;
  }

  private padTo(to: number, out: Uint8Array[]): void {
    if (to > this.at) out.push(new Uint8Array(to - this.at));
    this.at = Math.max(this.at, to);
  }
}

/** A whole container in one buffer (see {@link ContainerEncoder}). */
export function encodeContainer<M>(
  meta: M,
  sections: ReadonlyArray<SectionSpec>,
  crc: Crc32 = jsCrc32,
): Uint8Array {
  const encoder = new ContainerEncoder(crc);
  const pieces: Uint8Array[] = [encoder.preamble];
  for (const [name, array, encoding, rowLength, cols] of sections)
    pieces.push(...encoder.section(name, array, encoding, rowLength, cols));
  pieces.push(...encoder.finish(meta));
  const out = new Uint8Array(encoder.size);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

function bad(source: string, reason: string): AnnexmlError {
  return new AnnexmlError("BAD_FORMAT", reason, { file: source });
}

function allZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

const NOT_A_MODEL =
  "not an annexml model (wrong magic bytes; a model of the original C++ AnnexML must be converted with `annexml import`)";

/** The format version of a file's first bytes, after checking its magic. */
export function peekVersion(head: Uint8Array, source: string): number {
  if (head.length < 12 || MODEL_MAGIC.some((b, i) => head[i] !== b)) throw bad(source, NOT_A_MODEL);
  const version = new DataView(head.buffer, head.byteOffset, 12).getUint32(8, true);
  if (version > MODEL_FORMAT_VERSION) {
    throw bad(
      source,
      `model format version ${version} is newer than this annexml reads (${MODEL_FORMAT_VERSION}); upgrade @annexml/cli`,
    );
  }
  if (version < 1) throw bad(source, `invalid model format version ${version}`);
  return version;
}

function parseJson<M>(bytes: Uint8Array, source: string): ContainerIndex<M> {
  let index: ContainerIndex<M>;
  try {
    index = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw bad(source, `corrupted model: the index is not valid JSON (${(error as Error).message})`);
  }
  if (
    index === null ||
    typeof index !== "object" ||
    index.format !== "annexml-ts-model" ||
    !Array.isArray(index.sections) ||
    typeof index.fileBytes !== "number"
  ) {
    throw bad(source, "corrupted model: the index lacks its format, size or section table");
  }
  return index;
}

/**
 * Reads a container from the bytes of a whole file, checking everything
 * before trusting it: magic, version, reserved bytes, padding, the index's
 * and every section's CRC32, every offset and length against the size.
 * Sections are views into `bytes`'s buffer when its offset allows aligned
 * views (else one aligned copy is made first). `source` names the file in
 * error messages.
 */
export function parseContainer<M>(
  input: Uint8Array,
  source = "model",
  crc: Crc32 = jsCrc32,
): Container<M> {
  const { meta, raw, types, paddings, fileBytes, version, buffer } = checkContainer<M>(
    input,
    source,
    crc,
  );
  const { sections, stored } = decodeSections(raw, types, paddings, buffer, source);
  return { meta, sections, stored, fileBytes, version };
}

/**
 * Reads a container like {@link parseContainer} (every check included) but
 * keeps the sections as stored, in file order: what a tool that rewrites
 * models without changing their bytes needs (`annexml merge` joins learner
 * shards this way, so compact sections are copied, not re-encoded).
 */
export function parseStoredContainer<M>(
  input: Uint8Array,
  source = "model",
  crc: Crc32 = jsCrc32,
): { meta: M; pieces: StoredSection[]; fileBytes: number; version: number } {
  const { meta, pieces, fileBytes, version } = checkContainer<M>(input, source, crc);
  return { meta, pieces, fileBytes, version };
}

/** The checks and section table shared by {@link parseContainer} and {@link parseStoredContainer}. */
function checkContainer<M>(
  input: Uint8Array,
  source: string,
  crc: Crc32,
): {
  meta: M;
  raw: Map<string, StoredArray>;
  types: Map<string, SectionType>;
  paddings: Map<string, { cols: number; stride: number }>;
  pieces: StoredSection[];
  fileBytes: number;
  version: number;
  buffer: ArrayBufferLike;
} {
  let bytes = input;
  if (bytes.byteOffset % 8 !== 0) bytes = bytes.slice();
  const size = bytes.length;
  const version = peekVersion(bytes, source);
  const view = new DataView(bytes.buffer, bytes.byteOffset, size);
  let index: ContainerIndex<M>;
  let indexStart: number;
  let indexEnd: number;
  if (version === 1) {
    if (size < V1_PREAMBLE_BYTES) throw bad(source, "truncated model: no complete preamble");
    if (!allZero(bytes, 20, V1_PREAMBLE_BYTES))
      throw bad(source, "corrupted model: reserved preamble bytes 20..23 are not zero");
    const length = view.getUint32(12, true);
    indexStart = V1_PREAMBLE_BYTES;
    indexEnd = indexStart + length;
    if (indexEnd > size) {
      throw bad(
        source,
        `truncated model: the header needs ${indexEnd} bytes, the file has ${size}`,
      );
    }
    const json = bytes.subarray(indexStart, indexEnd);
    if (checksum(json, crc) !== view.getUint32(16, true))
      throw bad(source, "corrupted model: the header fails its CRC32 check");
    index = parseJson<M>(json, source);
    if (index.fileBytes !== size) {
      throw bad(
        source,
        `truncated or extended model: ${size} bytes, the header says ${index.fileBytes}`,
      );
    }
  } else {
    if (size < PREAMBLE_BYTES + TRAILER_BYTES)
      throw bad(source, `truncated model: ${size} bytes is less than an empty model`);
    if (!allZero(bytes, 12, PREAMBLE_BYTES))
      throw bad(source, "corrupted model: reserved preamble bytes 12..63 are not zero");
    const t = size - TRAILER_BYTES;
    if (END_MAGIC.some((b, i) => bytes[t + 24 + i] !== b)) {
      throw bad(
        source,
        "truncated or corrupted model: the file does not end with the model trailer",
      );
    }
    if (checksum(bytes.subarray(t, t + 20), crc) !== view.getUint32(t + 20, true))
      throw bad(source, "corrupted model: the trailer fails its CRC32 check");
    const offset = Number(view.getBigUint64(t, true));
    const length = Number(view.getBigUint64(t + 8, true));
    indexStart = offset;
    indexEnd = offset + length;
    if (
      offset < PREAMBLE_BYTES ||
      offset % ALIGN !== 0 ||
      indexEnd > t ||
      alignUp(indexEnd, 8) !== t
    ) {
      throw bad(source, "corrupted model: the trailer points outside the file");
    }
    const json = bytes.subarray(indexStart, indexEnd);
    if (checksum(json, crc) !== view.getUint32(t + 16, true))
      throw bad(source, "corrupted model: the index fails its CRC32 check");
    if (!allZero(bytes, indexEnd, t)) throw bad(source, "corrupted model: non-zero index padding");
    index = parseJson<M>(json, source);
    if (index.fileBytes !== size) {
      throw bad(
        source,
        `truncated or extended model: ${size} bytes, the index says ${index.fileBytes}`,
      );
    }
    // The preamble's version is covered by the index's (CRC-checked) copy.
    if (index.version !== version) {
      throw bad(
        source,
        `corrupted model: the preamble says format version ${version}, the index ${index.version}`,
      );
    }
  }

  // Sections, in file order: each inside the file, not overlapping the
  // preamble, the index or another section, padding between them zero.
  const entries = [...index.sections].sort((a, b) => a.offset - b.offset);
  const raw = new Map<string, StoredArray>();
  const types = new Map<string, SectionType>();
  const paddings = new Map<string, { cols: number; stride: number }>();
  const pieces: StoredSection[] = [];
  const dataStart = version === 1 ? indexEnd : PREAMBLE_BYTES;
  const dataEnd = version === 1 ? size : indexStart;
  let at = dataStart;
  for (const entry of entries) {
    const type = SECTION_TYPES[entry?.type];
    const byteLength = (entry?.length ?? Number.NaN) * (type?.bytes ?? Number.NaN);
    if (
      !type ||
      typeof entry.name !== "string" ||
      !Number.isSafeInteger(byteLength) ||
      byteLength < 0 ||
      !Number.isSafeInteger(entry.offset) ||
      entry.offset % ALIGN !== 0 ||
      entry.offset < at ||
      entry.offset + byteLength > dataEnd
    ) {
      throw bad(
        source,
        `truncated or corrupted model: section '${String(entry?.name)}' lies outside the file or overlaps another`,
      );
    }
    if (raw.has(entry.name))
      throw bad(source, `corrupted model: section '${entry.name}' appears twice`);
    if (!allZero(bytes, at, entry.offset))
      throw bad(source, "corrupted model: non-zero padding before a section");
    const data = bytes.subarray(entry.offset, entry.offset + byteLength);
    if (checksum(data, crc) !== entry.crc32) {
      throw bad(source, `corrupted model: section '${entry.name}' fails its CRC32 check`);
    }
    raw.set(entry.name, type.make(bytes.buffer, bytes.byteOffset + entry.offset, entry.length));
    types.set(entry.name, entry.type);
    if (entry.padded !== undefined) {
      const { cols, stride } = entry.padded ?? {};
      if (
        (entry.type !== "f16" && entry.type !== "i8") ||
        !Number.isSafeInteger(cols) ||
        !Number.isSafeInteger(stride) ||
        !(cols > 0 && cols < stride) ||
        entry.length % cols !== 0
      ) {
        throw bad(source, `corrupted model: section '${entry.name}' has an invalid row padding`);
      }
      paddings.set(entry.name, { cols, stride });
    }
    pieces.push({
      name: entry.name,
      type: entry.type,
      length: entry.length,
      bytes: data,
      ...(entry.padded !== undefined ? { padded: paddings.get(entry.name) } : {}),
    });
    at = entry.offset + byteLength;
  }
  if (!allZero(bytes, at, dataEnd))
    throw bad(source, "corrupted model: non-zero padding after the last section");
  return {
    meta: index.meta,
    raw,
    types,
    paddings,
    pieces,
    fileBytes: size,
    version,
    buffer: bytes.buffer,
  };
}

/**
 * The sections as their in-memory arrays: stored ones are views, compact
 * ones decoded into new arrays (on a SharedArrayBuffer when `buffer` is
 * one, so worker threads share them too); an `i8` section consumes its
 * `<name>.scale` sibling.
 */
function decodeSections(
  raw: ReadonlyMap<string, StoredArray>,
  types: ReadonlyMap<string, SectionType>,
  paddings: ReadonlyMap<string, { cols: number; stride: number }>,
  buffer: ArrayBufferLike,
  source: string,
): { sections: Map<string, SectionArray>; stored: Map<string, SectionType> } {
  const shared = typeof SharedArrayBuffer !== "undefined" && buffer instanceof SharedArrayBuffer;
  const alloc = <T>(make: new (b: ArrayBufferLike) => T, n: number, bytesPer: number): T =>
    new make(shared ? new SharedArrayBuffer(n * bytesPer) : new ArrayBuffer(n * bytesPer));
  /** Float32 output of a compact float section: padded rows decode into scratch first. */
  const floats = (name: string, n: number, decode: (out: Float32Array) => void): Float32Array => {
    const pad = paddings.get(name);
    if (!pad) {
      const out = alloc(Float32Array, n, 4);
      decode(out);
      return out;
    }
    const packed = new Float32Array(n);
    decode(packed);
    const out = alloc(Float32Array, (n / pad.cols) * pad.stride, 4);
    addPadding(packed, pad.cols, pad.stride, out);
    return out;
  };
  const sections = new Map<string, SectionArray>();
  const stored = new Map<string, SectionType>();
  const scales = new Set<string>();
  for (const [name, type] of types) {
    if (type === "i8") scales.add(`${name}.scale`);
  }
  for (const [name, array] of raw) {
    const type = types.get(name) as SectionType;
    if (scales.has(name)) {
      if (type !== "f32")
        throw bad(source, `corrupted model: section '${name}' must be f32, but is ${type}`);
      continue;
    }
    stored.set(name, type);
    if (type === "f16") {
      sections.set(
        name,
        floats(name, array.length, (out) => decodeF16(array as Uint16Array, out)),
      );
    } else if (type === "u16") {
      const n = array.length;
      sections.set(name, decodeU16(array as Uint16Array, alloc(Int32Array, n, 4)));
    } else if (type === "i8") {
      const scale = raw.get(`${name}.scale`) as Float32Array | undefined;
      const rows = scale?.length ?? 0;
      if (!scale || (rows === 0 ? array.length !== 0 : array.length % rows !== 0)) {
        throw bad(
          source,
          `corrupted model: i8 section '${name}' lacks its '${name}.scale' section of one scale per row`,
        );
      }
      if (paddings.has(name) && rows * (paddings.get(name)?.cols ?? 0) !== array.length) {
        throw bad(source, `corrupted model: i8 section '${name}' has ${rows} scales for its rows`);
      }
      sections.set(
        name,
        floats(name, array.length, (out) => decodeInt8Rows(array as Int8Array, scale, out)),
      );
    } else {
      sections.set(name, array as SectionArray);
    }
  }
  // With any section decoded, copy the others too: then nothing refers to
  // the file's buffer and it can be freed (a compact model then holds its
  // float32 size, not that plus the file).
  if (
    stored.size > 0 &&
    [...stored.values()].some((t) => t === "f16" || t === "i8" || t === "u16")
  ) {
    for (const [name, array] of sections) {
      if (array.buffer !== buffer) continue;
      const copy = alloc(
        array.constructor as new (
          b: ArrayBufferLike,
        ) => SectionArray,
        array.length,
        array.BYTES_PER_ELEMENT,
      );
      copy.set(array as never);
      sections.set(name, copy);
    }
  }
  return { sections, stored };
}
