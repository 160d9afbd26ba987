// The files a queued run exchanges through work_dir: the prepared training
// data (written once by the coordinator) and every task's result (written by
// the worker that ran it). One format for both: a JSON header describing
// the object, its typed arrays' bytes, and a CRC-32 of everything before it,
// written to a temporary file renamed into place, so a reader sees a whole,
// checked file or none.

import { readFile } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { AnnexmlError, writeFileAtomic } from "@annexml/sparse-io";

const MAGIC = 0x5158_4e41; // "ANXQ" little-endian
const FORMAT = 1;
/** magic, format, header bytes. */
const PREFIX = 12;

type ArrayName =
  | "Int8Array"
  | "Uint8Array"
  | "Int16Array"
  | "Uint16Array"
  | "Int32Array"
  | "Uint32Array"
  | "Float32Array"
  | "Float64Array";

const CTORS: Record<
  ArrayName,
  new (
    buffer: ArrayBufferLike,
    offset?: number,
    length?: number,
  ) => ArrayBufferView
> = {
  Int8Array,
  Uint8Array,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
};

/** Where a typed array's bytes are in the payload. */
interface ArrayRef {
  $array: ArrayName;
  offset: number;
  length: number;
}

const align8 = (n: number) => (n + 7) & ~7;

/**
 * Encodes `value` (plain objects, arrays, numbers, strings, booleans and
 * typed arrays, nested) as the chunks of one file; the last chunk is the CRC.
 */
export function encodeObject(value: unknown): Uint8Array[] {
  const payload: Uint8Array[] = [];
  let offset = 0;
  const replace = (v: unknown): unknown => {
    if (ArrayBuffer.isView(v)) {
      const name = v.constructor.name as ArrayName;
      if (!(name in CTORS)) throw new Error(`cannot store a ${name} in a queue file`);
      const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      const ref: ArrayRef = {
        $array: name,
        offset,
        length: (v as unknown as { length: number }).length,
      };
      payload.push(bytes);
      const padded = align8(bytes.byteLength);
      if (padded > bytes.byteLength) payload.push(new Uint8Array(padded - bytes.byteLength));
      offset += padded;
      return ref;
    }
    if (Array.isArray(v)) return v.map(replace);
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(v)) if (item !== undefined) out[key] = replace(item);
      return out;
    }
    return v;
  };
  const header = new TextEncoder().encode(JSON.stringify(replace(value)));
  const headerBytes = align8(PREFIX + header.byteLength) - PREFIX;
  const prefix = new Uint8Array(PREFIX + headerBytes);
  const view = new DataView(prefix.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, FORMAT, true);
  view.setUint32(8, headerBytes, true);
  prefix.set(header, PREFIX);
  prefix.fill(0x20, PREFIX + header.byteLength); // JSON ignores trailing spaces
  const chunks = [prefix, ...payload];
  let crc = 0;
  for (const chunk of chunks) crc = crc32(chunk, crc);
  const tail = new Uint8Array(4);
  new DataView(tail.buffer).setUint32(0, crc >>> 0, true);
  chunks.push(tail);
  return chunks;
}

/**
 * Decodes a file of {@link encodeObject}; every typed array gets its own
 * buffer (a `SharedArrayBuffer` when `shared`, for worker threads). Throws
 * `AnnexmlError` `BAD_FORMAT` naming `file` when the bytes are not a whole,
 * intact file.
 */
export function decodeObject<T>(bytes: Uint8Array, file: string, shared = false): T {
  const bad = (why: string) =>
    new AnnexmlError("BAD_FORMAT", `not an intact annexml queue file (${why})`, { file });
  if (bytes.byteLength < PREFIX + 4) throw bad("too short");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw bad("wrong magic number");
  if (view.getUint32(4, true) !== FORMAT) throw bad(`format ${view.getUint32(4, true)}`);
  const end = bytes.byteLength - 4;
  const crc = crc32(bytes.subarray(0, end)) >>> 0;
  if (crc !== view.getUint32(end, true)) throw bad("CRC mismatch");
  const headerBytes = view.getUint32(8, true);
  const start = PREFIX + headerBytes;
  if (start > end) throw bad("header beyond the end");
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(PREFIX, start)));
  const revive = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(revive);
    if (v !== null && typeof v === "object") {
      const ref = v as ArrayRef;
      if (typeof ref.$array === "string") {
        const Ctor = CTORS[ref.$array];
        const size = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
        const byteLength = ref.length * size;
        if (start + ref.offset + byteLength > end) throw bad("an array beyond the end");
        const buffer = shared ? new SharedArrayBuffer(byteLength) : new ArrayBuffer(byteLength);
        new Uint8Array(buffer).set(
          bytes.subarray(start + ref.offset, start + ref.offset + byteLength),
        );
        return new Ctor(buffer, 0, ref.length);
      }
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(v)) out[key] = revive(item);
      return out;
    }
    return v;
  };
  return revive(header) as T;
}

/** Writes `value` to `path` through a temporary file renamed at the end. */
export async function writeObjectFile(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, encodeObject(value));
}

/**
 * Reads a file of {@link writeObjectFile}: the object, or null when the file
 * does not exist. An existing file that fails its checks throws (`BAD_FORMAT`).
 */
export async function readObjectFile<T>(path: string, shared = false): Promise<T | null> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new AnnexmlError("FILE_UNREADABLE", `cannot read (${(error as Error).message})`, {
      file: path,
    });
  }
  return decodeObject<T>(bytes, path, shared);
}
