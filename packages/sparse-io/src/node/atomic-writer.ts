import { constants, type Stats, unlinkSync } from "node:fs";
import { lstat, open, readlink, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { AnnexmlError } from "../errors.js";

const FLUSH_BYTES = 1 << 20;
/** Symlinks followed before giving up, like the kernel's limit (ELOOP). */
const MAX_LINKS = 40;

type Handle = Awaited<ReturnType<typeof open>>;

/**
 * Temporary files that may exist, with their writer (null while being
 * created): what {@link AtomicFileWriter.abortAllSync} removes.
 */
const live = new Map<string, AtomicFileWriter | null>();
let liveListener: ((count: number) => void) | null = null;

function track(tempPath: string, writer: AtomicFileWriter | null): void {
  const size = live.size;
  live.set(tempPath, writer);
  if (live.size !== size) liveListener?.(live.size);
}

function untrack(tempPath: string | null): void {
  if (tempPath !== null && live.delete(tempPath)) liveListener?.(live.size);
}

/**
 * Writes a file so that readers never see it half-written.
 *
 * - A regular file, or a path that does not exist yet: data goes to a
 *   temporary file beside the target, which replaces the target only on
 *   {@link AtomicFileWriter.commit} (keeping the replaced file's permission
 *   bits). Until then whatever the target held stays intact, also when the
 *   process dies.
 * - A symlink (or a chain of them) is followed: its final target is
 *   replaced as above (temporary file in the target's directory) and the
 *   link stays a link. A dangling link is written through, like a shell's
 *   `>`: its target is created.
 * - A character or block device, a FIFO or a socket is opened and written
 *   directly (no temporary file, no rename): `/dev/null`, `/dev/stdout` or a
 *   named pipe stay what they are.
 * - `-` and `/dev/stdout` write to stdout (commit then just flushes).
 *
 * Any failure (a missing directory, no permission, `ENOSPC`, a directory as
 * target) is an {@link AnnexmlError} with code `FILE_UNWRITABLE` naming the
 * path; after {@link AtomicFileWriter.abort} nothing is left behind.
 */
export class AtomicFileWriter {
  private readonly pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private done = false;

  private constructor(
    /** The path as given. */
    readonly path: string,
    /** Where the data ends up: the path with symlinks resolved. */
    readonly target: string,
    /** The temporary file, or null when writing directly (devices, FIFOs, stdout). */
    private readonly tempPath: string | null,
    private readonly handle: Handle | null,
  ) {}

  /** Opens a writer for `path` (`-` = stdout). Opening a FIFO waits for its reader. */
  static async open(path: string): Promise<AtomicFileWriter> {
    // `/dev/stdout` may be a socket (a Node parent's pipe), which cannot be reopened.
    if (path === "-" || path === "/dev/stdout") return new AtomicFileWriter(path, path, null, null);
    let target = path;
    try {
      // What the kernel opens, following every link (also /dev/stdout's
      // /proc/self/fd/N, whose text is no path).
      const followed = await statOrNull(path);
      if (followed?.isDirectory()) {
        throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
      }
      if (followed && !followed.isFile()) {
        // Devices, FIFOs and sockets: write in place; never create or truncate.
        return new AtomicFileWriter(path, path, null, await open(path, constants.O_WRONLY));
      }
      const resolved = await resolveLinks(path);
      const stats = resolved.stats;
      if (followed && (stats?.ino !== followed.ino || stats?.dev !== followed.dev)) {
        // A link the kernel resolves otherwise than its text (a /proc fd link
        // to a deleted file): write it in place, as `>` would.
        return new AtomicFileWriter(
          path,
          path,
          null,
          await open(path, constants.O_WRONLY | constants.O_TRUNC),
        );
      }
      target = resolved.target;
      const tempPath = join(
        dirname(target),
        `.${basename(target)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`,
      );
      let handle: Handle;
      // Tracked before it exists: an exit while the open is in flight still removes it.
      track(tempPath, null);
      try {
        handle = await open(tempPath, "wx");
      } catch (err) {
        untrack(tempPath);
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        throw Object.assign(new Error(`its directory ${dirname(target)} does not exist`), {
          code: "ENOENT",
          cause: err,
        });
      }
      const writer = new AtomicFileWriter(path, target, tempPath, handle);
      track(tempPath, writer);
      if (stats) {
        try {
          await handle.chmod(stats.mode & 0o777);
        } catch (err) {
          await writer.abort();
          throw err;
        }
      }
      return writer;
    } catch (err) {
      throw writeError(path, err, target);
    }
  }

  /**
   * Removes the temporary file of every writer still open, synchronously
   * (for a signal handler that exits right after: file descriptors are left
   * to the exit). The targets stay as they were. Returns how many were removed.
   */
  static abortAllSync(): number {
    let removed = 0;
    for (const [tempPath, writer] of live) {
      if (writer) {
        writer.done = true;
        writer.pending.length = 0;
      }
      try {
        unlinkSync(tempPath);
        removed++;
      } catch {
        // Not created yet, or already gone (a commit's rename won the race).
      }
    }
    live.clear();
    liveListener?.(0);
    return removed;
  }

  /**
   * Sets the one function told the number of temporary files that may exist
   * whenever it changes (null to unset): a CLI uses it to handle signals
   * only while there is something to clean up.
   */
  static onLiveChange(listener: ((count: number) => void) | null): void {
    liveListener = listener;
  }

  /** Queues data; it is flushed in large writes. */
  async write(data: string | Uint8Array): Promise<void> {
    if (this.done) throw new Error(`AtomicFileWriter for ${this.path} is already closed`);
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    if (bytes.length >= FLUSH_BYTES) {
      // Large chunks go out as they are, without a copy.
      await this.flush();
      await this.writeOut(bytes);
      return;
    }
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  /** Flushes; for a temporary file also syncs it and moves it over the target. */
  async commit(): Promise<void> {
    if (this.done) throw new Error(`AtomicFileWriter for ${this.path} is already closed`);
    await this.flush();
    this.done = true;
    if (!this.handle) return;
    try {
      if (this.tempPath) await this.handle.sync();
      await this.handle.close();
      if (this.tempPath) await rename(this.tempPath, this.target);
    } catch (err) {
      if (this.tempPath) await unlink(this.tempPath).catch(() => {});
      throw writeError(this.path, err, this.target);
    } finally {
      untrack(this.tempPath);
    }
  }

  /** Drops the temporary file; the target is left as it was (a device or FIFO keeps what it got). */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.pending.length = 0;
    this.pendingBytes = 0;
    if (!this.handle) return;
    await this.handle.close().catch(() => {});
    if (this.tempPath) await unlink(this.tempPath).catch(() => {});
    untrack(this.tempPath);
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const parts = this.pending.splice(0);
    this.pendingBytes = 0;
    await this.writeOut(parts.length === 1 ? parts[0] : Buffer.concat(parts));
  }

  private async writeOut(buffer: Uint8Array): Promise<void> {
    try {
      if (!this.handle) return await writeStdout(buffer);
      // A pipe may take less than asked for: write the rest.
      for (let at = 0; at < buffer.length; ) {
        const { bytesWritten } = await this.handle.write(buffer, at, buffer.length - at);
        at += bytesWritten;
      }
    } catch (err) {
      throw writeError(this.path, err, this.target);
    }
  }
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/**
 * Follows `path` through symlinks to what it finally names: that path and
 * its stats, or null stats when nothing is there (a new file, or the target
 * of a dangling link).
 */
async function resolveLinks(path: string): Promise<{ target: string; stats: Stats | null }> {
  let current = path;
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    let stats: Stats;
    try {
      stats = await lstat(current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { target: current, stats: null };
      throw err;
    }
    if (!stats.isSymbolicLink()) return { target: current, stats };
    current = resolve(dirname(current), await readlink(current));
  }
  throw Object.assign(new Error("too many levels of symbolic links"), { code: "ELOOP" });
}

/** One line for a failed write: `path: cannot write file: no space left on device (ENOSPC)`. */
function writeError(path: string, err: unknown, target: string): AnnexmlError {
  if (err instanceof AnnexmlError) return err;
  const e = err as NodeJS.ErrnoException;
  let why = e?.message ?? String(err);
  if (e?.code) {
    // Node's text is `CODE: description, syscall 'path'`: keep the description.
    const description = /^[A-Z0-9_]+: ([^,]*)/.exec(why)?.[1] ?? why;
    why = `${description} (${e.code})`;
  }
  const via = target === path ? "" : ` (symlink to ${target})`;
  return new AnnexmlError(
    "FILE_UNWRITABLE",
    `cannot write file${via}: ${why}`,
    { file: path },
    { cause: err },
  );
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
