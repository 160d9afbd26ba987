import { open } from "node:fs/promises";
import { AnnexmlError } from "@annexml/sparse-io";

/**
 * Random-access bytes of a file being imported: its size is known up front
 * (every declared length is checked against it before anything is
 * allocated), and it is read piece by piece, never whole.
 */
export interface ByteSource {
  /** Name used in error messages (the path). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Reads up to `length` bytes at byte `position` into
   * `target[offset .. offset + length)`; returns how many were read (fewer
   * only at the end of the source).
   */
  read(target: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/** A {@link ByteSource} over bytes in memory (tests, or callers that already hold the file). */
export function memorySource(bytes: Uint8Array, name = "<memory>"): ByteSource {
  return {
    name,
    size: bytes.length,
    read: async (target, offset, length, position) => {
      const end = Math.min(bytes.length, position + length);
      if (end <= position) return 0;
      target.set(bytes.subarray(position, end), offset);
      return end - position;
    },
    close: async () => {},
  };
}

/** Opens `path` as a {@link ByteSource}; refuses a directory or an unreadable file with an {@link AnnexmlError}. */
export async function fileSource(path: string): Promise<ByteSource> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : (error as Error).message;
    throw new AnnexmlError("FILE_UNREADABLE", `cannot open the model (${why})`, { file: path });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new AnnexmlError("FILE_UNREADABLE", "not a regular file", { file: path });
    }
    return {
      name: path,
      size: info.size,
      read: async (target, offset, length, position) => {
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(
            target,
            offset + done,
            length - done,
            position + done,
          );
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done;
      },
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
