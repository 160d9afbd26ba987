import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { AnnexmlError } from "../errors.js";

/** Size of the read buffer: large enough to amortise syscalls, small enough to stay in cache. */
export const DEFAULT_CHUNK_BYTES = 1 << 20;

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/**
 * Streams the bytes of a file in chunks: `-` reads stdin, gzip files (by
 * their magic bytes, whatever the name) are decompressed on the fly.
 *
 * The yielded chunk may be a reused buffer: consume it before asking for the
 * next one. Failures to open or read become an `AnnexmlError` naming the file.
 */
export async function* readChunks(
  path: string,
  chunkBytes: number = DEFAULT_CHUNK_BYTES,
): AsyncGenerator<Uint8Array, void, undefined> {
  if (path === "-") {
    yield* streamChunks(process.stdin, path);
    return;
  }
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (err) {
    throw unreadable(path, err);
  }
  try {
    const buffer = new Uint8Array(chunkBytes);
    let first = true;
    for (;;) {
      let n: number;
      try {
        ({ bytesRead: n } = await handle.read(buffer, 0, chunkBytes, null));
      } catch (err) {
        throw unreadable(path, err);
      }
      if (n === 0) return;
      if (first && n >= 2 && buffer[0] === GZIP_MAGIC_0 && buffer[1] === GZIP_MAGIC_1) {
        yield* gunzipRest(handle, buffer.slice(0, n), path);
        return;
      }
      first = false;
      yield buffer.subarray(0, n);
    }
  } finally {
    await handle.close();
  }
}

async function* gunzipRest(
  handle: Awaited<ReturnType<typeof open>>,
  head: Uint8Array,
  path: string,
): AsyncGenerator<Uint8Array, void, undefined> {
  const raw = handle.createReadStream({ autoClose: false, highWaterMark: DEFAULT_CHUNK_BYTES });
  const gunzip = createGunzip({ chunkSize: DEFAULT_CHUNK_BYTES });
  gunzip.write(head);
  raw.pipe(gunzip);
  yield* streamChunks(gunzip, path);
}

async function* streamChunks(stream: Readable | NodeJS.ReadableStream, path: string) {
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
      yield typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (code.startsWith("Z_")) {
      throw new AnnexmlError(
        "BAD_FORMAT",
        `corrupt gzip data (${(err as Error).message})`,
        { file: path },
        { cause: err },
      );
    }
    throw unreadable(path, err);
  }
}

function unreadable(path: string, err: unknown): AnnexmlError {
  const e = err as NodeJS.ErrnoException;
  const why =
    e.code === "ENOENT"
      ? "no such file"
      : e.code === "EACCES"
        ? "permission denied"
        : e.code === "EISDIR"
          ? "is a directory, not a file"
          : (e.message ?? String(err));
  return new AnnexmlError(
    "FILE_UNREADABLE",
    `cannot read file (${why})`,
    { file: path },
    { cause: err },
  );
}
