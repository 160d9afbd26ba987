import { open, stat } from "node:fs/promises";
import { crc32 } from "node:zlib";
import {
  ALIGN,
  alignUp,
  type Container,
  ContainerEncoder,
  PREAMBLE_BYTES,
  parseContainer,
  peekVersion,
  type SectionArray,
  type SectionEncoding,
  type SectionSpec,
  type StoredSection,
} from "@annexml/model";
import { AnnexmlError, AtomicFileWriter } from "@annexml/sparse-io";

/** zlib's native CRC-32 (the same values as the model package's portable one, ~10x faster). */
export const nativeCrc = (bytes: Uint8Array, previous = 0) => crc32(bytes, previous);

/**
 * Writes a model container to a file section by section, as the sections
 * are produced (the bytes come from `@annexml/model`'s browser-safe
 * {@link ContainerEncoder}). The file appears under its name only on
 * {@link finish} (temporary file and rename for regular files; see
 * AtomicFileWriter).
 */
export class ContainerWriter {
  private readonly encoder = new ContainerEncoder(nativeCrc);

  private constructor(private readonly out: AtomicFileWriter) {}

  static async open(path: string): Promise<ContainerWriter> {
    const writer = new ContainerWriter(await AtomicFileWriter.open(path));
    await writer.put([writer.encoder.preamble]);
    return writer;
  }

  /** Appends sections in order (see {@link ContainerEncoder.section}). */
  async write(sections: readonly SectionSpec[]): Promise<void> {
    for (const [name, array, encoding, rowLength, cols] of sections)
      await this.section(name, array, encoding, rowLength, cols);
  }

  /** Appends one section (see {@link ContainerEncoder.section}). */
  async section(
    name: string,
    array: SectionArray,
    encoding?: SectionEncoding,
    rowLength?: number,
    cols?: number,
  ): Promise<void> {
    await this.put(this.encoder.section(name, array, encoding, rowLength, cols));
  }

  /** Appends sections exactly as stored in another file (see {@link ContainerEncoder.stored}). */
  async stored(pieces: readonly StoredSection[]): Promise<void> {
    for (const piece of pieces) await this.put(this.encoder.stored(piece));
  }

  /** Writes the index (with `meta`) and the trailer, and commits; returns the file size. */
  async finish<M>(meta: M): Promise<number> {
    await this.put(this.encoder.finish(meta));
    await this.out.commit();
    return this.encoder.size;
  }

  /** Drops everything written; the target is left as it was. */
  abort(): Promise<void> {
    return this.out.abort();
  }

  private async put(pieces: Uint8Array[]): Promise<void> {
    // Queued by reference until the next flush: the arrays of a model being
    // written do not change.
    for (const bytes of pieces) await this.out.write(bytes);
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
    await writer.write(sections);
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
  return parseContainer<M>(await readModelBytes(path, options), path, nativeCrc);
}

/**
 * The bytes of a model file in one buffer (see {@link readContainer}),
 * after checking its magic and version: a foreign or newer file is refused
 * before a buffer of its size is allocated.
 */
export async function readModelBytes(
  path: string,
  options: { shared?: boolean } = {},
): Promise<Uint8Array> {
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
    return bytes;
  } finally {
    await handle.close();
  }
}
