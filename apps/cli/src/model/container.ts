import { open, stat } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { AnnexmlError, AtomicFileWriter } from "@annexml/sparse-io";
import {
  ALIGN,
  alignUp,
  type Container,
  checksum,
  encodeIndexAndTrailer,
  encodePreamble,
  encodeSection,
  PREAMBLE_BYTES,
  parseContainer,
  peekVersion,
  type SectionArray,
  type SectionEncoding,
  type SectionEntry,
} from "./format.js";

export {
  type Container,
  MODEL_FORMAT_VERSION,
  MODEL_MAGIC,
  parseContainer,
  type SectionArray,
  type SectionEncoding,
  type SectionEntry,
  type SectionType,
} from "./format.js";

/** A section to write, optionally compact (`rowLength`: the row width of an `i8` section). */
export type SectionSpec = readonly [
  name: string,
  array: SectionArray,
  encoding?: SectionEncoding,
  rowLength?: number,
  cols?: number,
];

/** zlib's native CRC-32 (the same values as the portable one in crc32.ts, ~10x faster). */
const nativeCrc = (bytes: Uint8Array, previous = 0) => crc32(bytes, previous);

/**
 * Writes a model container section by section, as the sections are
 * produced (nothing is held back but the small table), then the index and
 * the trailer. The file appears under its name only on {@link finish}
 * (temporary file and rename for regular files; see AtomicFileWriter).
 */
export class ContainerWriter {
  private readonly entries: SectionEntry[] = [];
  private readonly names = new Set<string>();
  private at = 0;

  private constructor(private readonly out: AtomicFileWriter) {}

  static async open(path: string): Promise<ContainerWriter> {
    const writer = new ContainerWriter(await AtomicFileWriter.open(path));
    await writer.put(encodePreamble());
    return writer;
  }

  /**
   * Appends one section (64-byte aligned, CRC-checked on read), stored as
   * itself or in a compact `encoding` (an `i8` section also writes its
   * `<name>.scale`; the CRC covers the stored bytes). `cols < rowLength`:
   * only the first `cols` of each row are stored (the rest is zero padding).
   */
  async section(
    name: string,
    array: SectionArray,
    encoding?: SectionEncoding,
    rowLength?: number,
    cols?: number,
  ): Promise<void> {
    for (const piece of encodeSection(name, array, encoding, rowLength, cols)) {
      if (this.names.has(piece.name)) throw new Error(`duplicate model section '${piece.name}'`);
      this.names.add(piece.name);
      await this.pad(alignUp(this.at));
      this.entries.push({
        name: piece.name,
        type: piece.type,
        length: piece.length,
        offset: this.at,
        crc32: checksum(piece.bytes, nativeCrc),
        ...(piece.padded ? { padded: piece.padded } : {}),
      });
      await this.put(piece.bytes);
    }
  }

  /** Writes the index (with `meta`) and the trailer, and commits; returns the file size. */
  async finish<M>(meta: M): Promise<number> {
    await this.pad(alignUp(this.at));
    const tail = encodeIndexAndTrailer(this.at, meta, this.entries, nativeCrc);
    await this.put(tail);
    await this.out.commit();
    return this.at;
  }

  /** Drops everything written; the target is left as it was. */
  abort(): Promise<void> {
    return this.out.abort();
  }

  private async pad(to: number): Promise<void> {
    if (to > this.at) await this.put(new Uint8Array(to - this.at));
  }

  private async put(bytes: Uint8Array): Promise<void> {
    // Queued by reference until the next flush: the arrays of a model being
    // written do not change.
    await this.out.write(bytes);
    this.at += bytes.length;
  }
}

/**
 * Writes a container atomically from sections already in memory: a crash
 * mid-write leaves whatever `path` held before. Returns the file size.
 */
export async function writeContainer<M>(
  path: string,
  meta: M,
  sections: ReadonlyArray<SectionSpec>,
): Promise<number> {
  const writer = await ContainerWriter.open(path);
  try {
    for (const [name, array, encoding, rowLength, cols] of sections)
      await writer.section(name, array, encoding, rowLength, cols);
    return await writer.finish(meta);
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/**
 * Reads a container file into one buffer (a SharedArrayBuffer with
 * `shared`, so worker threads see every section without copies) and checks
 * it ({@link parseContainer}); the sections are views into that buffer.
 */
export async function readContainer<M>(
  path: string,
  options: { shared?: boolean } = {},
): Promise<Container<M>> {
  let size: number;
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error("not a regular file");
    size = info.size;
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
    // The magic and version first: a foreign or newer file is refused
    // before a buffer of its size is allocated.
    const head = new Uint8Array(Math.min(size, PREAMBLE_BYTES));
    await handle.read(head, 0, head.length, 0);
    peekVersion(head, path);
    const bytes = new Uint8Array(
      options.shared ? new SharedArrayBuffer(alignUp(size, ALIGN)) : new ArrayBuffer(size),
      0,
      size,
    );
    const piece = 1 << 28;
    for (let at = 0; at < size; at += piece) {
      const n = Math.min(piece, size - at);
      const { bytesRead } = await handle.read(bytes, at, n, at);
      if (bytesRead < n)
        throw new AnnexmlError("BAD_FORMAT", "the model file shrank while it was read", {
          file: path,
        });
    }
    return parseContainer<M>(bytes, path, nativeCrc);
  } finally {
    await handle.close();
  }
}
