import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { AnnexmlError } from "../errors.js";

const FLUSH_BYTES = 1 << 20;

/**
 * Writes a file so that readers never see it half-written: data goes to a
 * temporary file beside the target, which replaces the target only on
 * {@link AtomicFileWriter.commit}. Until then whatever the target held stays
 * intact, also when the process dies. The path `-` writes to stdout instead
 * (commit then just flushes).
 */
export class AtomicFileWriter {
  private readonly pending: (string | Uint8Array)[] = [];
  private pendingBytes = 0;
  private done = false;

  private constructor(
    readonly path: string,
    private readonly tempPath: string | null,
    private readonly handle: Awaited<ReturnType<typeof open>> | null,
  ) {}

  /** Opens a writer for `path` (`-` = stdout). */
  static async open(path: string): Promise<AtomicFileWriter> {
    if (path === "-") return new AtomicFileWriter(path, null, null);
    const tempPath = join(
      dirname(path),
      `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`,
    );
    try {
      return new AtomicFileWriter(path, tempPath, await open(tempPath, "wx"));
    } catch (err) {
      throw new AnnexmlError(
        "FILE_UNREADABLE",
        `cannot write file (${(err as Error).message})`,
        {
          file: path,
        },
        { cause: err },
      );
    }
  }

  /** Queues data; it is flushed in large writes. */
  async write(data: string | Uint8Array): Promise<void> {
    if (this.done) throw new Error(`AtomicFileWriter for ${this.path} is already closed`);
    this.pending.push(data);
    this.pendingBytes += data.length;
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  /** Flushes, syncs and moves the temporary file over the target. */
  async commit(): Promise<void> {
    await this.flush();
    this.done = true;
    if (!this.handle || !this.tempPath) return;
    try {
      await this.handle.sync();
      await this.handle.close();
      await rename(this.tempPath, this.path);
    } catch (err) {
      await unlink(this.tempPath).catch(() => {});
      throw new AnnexmlError(
        "FILE_UNREADABLE",
        `cannot write file (${(err as Error).message})`,
        {
          file: this.path,
        },
        { cause: err },
      );
    }
  }

  /** Drops the temporary file; the target is left as it was. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.pending.length = 0;
    if (!this.handle || !this.tempPath) return;
    await this.handle.close().catch(() => {});
    await unlink(this.tempPath).catch(() => {});
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const parts = this.pending.splice(0);
    this.pendingBytes = 0;
    const buffer = Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));
    try {
      if (this.handle) await this.handle.write(buffer);
      else await writeStdout(buffer);
    } catch (err) {
      throw new AnnexmlError(
        "FILE_UNREADABLE",
        `cannot write file (${(err as Error).message})`,
        {
          file: this.path,
        },
        { cause: err },
      );
    }
  }
}

function writeStdout(buffer: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(buffer, (err) => (err ? reject(err) : resolve()));
  });
}

/** Writes a whole file atomically (see {@link AtomicFileWriter}). */
export async function writeFileAtomic(
  path: string,
  chunks: Iterable<string | Uint8Array>,
): Promise<void> {
  const writer = await AtomicFileWriter.open(path);
  try {
    for (const chunk of chunks) await writer.write(chunk);
    await writer.commit();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
