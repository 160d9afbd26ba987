import { AnnexmlError } from "@annexml/sparse-io";
import type { ByteSource } from "./source.js";

/** Bytes buffered at a time: the file is streamed through this window, never read whole. */
export const READ_WINDOW_BYTES = 1 << 20;

const TWO_POW_32 = 2 ** 32;
/** The high 32-bit word of a u64 above 2^53 - 1 exceeds this. */
const MAX_SAFE_HIGH_WORD = 0x1fffff;
const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * Sequential little-endian reader of a {@link ByteSource} through a fixed
 * window of {@link READ_WINDOW_BYTES}. Every error it raises is an
 * `AnnexmlError` naming the file, the byte offset and the field:
 * `model.bin: byte 140 (training label sets: row count): ...`.
 *
 * Callers make bytes available with {@link fill} (async, only when the
 * window runs dry: check {@link available} first in hot loops) and then read
 * them with the synchronous getters.
 */
export class BinaryReader {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  /** File position of `buf[0]`. */
  private start = 0;
  /** Valid bytes in `buf`. */
  private len = 0;
  /** Read position in `buf`. */
  private at = 0;
  /** The last u64 above 2^53 met (for the error message). */
  private overflow = 0n;

  constructor(
    readonly source: ByteSource,
    readonly window = READ_WINDOW_BYTES,
  ) {
    this.buf = new Uint8Array(window);
    this.view = new DataView(this.buf.buffer);
  }

  /** File position of the next byte to read. */
  get position(): number {
    return this.start + this.at;
  }

  /** Bytes of the file after {@link position}. */
  get remaining(): number {
    return this.source.size - this.position;
  }

  /** Bytes buffered and not read yet. */
  available(): number {
    return this.len - this.at;
  }

  /** An error about the field at `position` (default: the current one). */
  error(field: string, reason: string, position = this.position): AnnexmlError {
    return new AnnexmlError("BAD_FORMAT", `byte ${position} (${field}): ${reason}`, {
      file: this.source.name,
    });
  }

  /**
   * Makes at least `n` bytes (at most the window) available; a file that
   * ends first is refused as truncated, naming `field`.
   */
  async fill(n: number, field: string): Promise<void> {
    if (this.len - this.at >= n) return;
    if (n > this.window)
      throw new RangeError(`fill(${n}) exceeds the read window of ${this.window} bytes`);
    // Keep the unread tail, then top the window up.
    this.buf.copyWithin(0, this.at, this.len);
    this.start += this.at;
    this.len -= this.at;
    this.at = 0;
    const want = Math.min(this.window, this.source.size - this.start) - this.len;
    if (want > 0) {
      this.len += await this.source.read(this.buf, this.len, want, this.start + this.len);
    }
    if (this.len < n) {
      const have = this.len;
      throw this.error(
        field,
        have === 0
          ? `the file ends here, but ${n} more bytes are needed (truncated file)`
          : `the file ends ${have} bytes into this ${n}-byte field (truncated file)`,
      );
    }
  }

  /**
   * Refuses `count` records of at least `bytesEach` bytes when the rest of
   * the file cannot hold them: called before allocating anything `count`
   * long, so a corrupt length never makes us allocate.
   */
  requireRecords(count: number, bytesEach: number, field: string, position = this.position): void {
    const needed = count * bytesEach;
    if (needed > this.remaining) {
      throw this.error(
        field,
        `declares ${count} entries of at least ${bytesEach} bytes (${needed} bytes), but only ${this.remaining} bytes remain (truncated or corrupt file)`,
        position,
      );
    }
  }

  /** A u64 (8 bytes available); values above 2^53 - 1 are refused, naming `field`. */
  u64(field: string): number {
    const v = this.u64Raw();
    if (v < 0) throw this.error(field, this.u64TooBig(), this.position - 8);
    return v;
  }

  /** The reason to give for the last u64 {@link u64Raw} refused. */
  u64TooBig(): string {
    return `u64 value ${this.overflow} is above 2^53 (corrupt file)`;
  }

  /** A u64 (8 bytes available), or -1 when it is above 2^53 - 1 (the caller reports it). */
  u64Raw(): number {
    const lo = this.view.getUint32(this.at, true);
    const hi = this.view.getUint32(this.at + 4, true);
    this.at += 8;
    if (hi <= MAX_SAFE_HIGH_WORD) return hi * TWO_POW_32 + lo;
    this.overflow = (BigInt(hi) << 32n) | BigInt(lo);
    return -1;
  }

  /** A copy of the next `n` available bytes, without consuming them. */
  peek(n: number): Uint8Array {
    return this.buf.slice(this.at, this.at + n);
  }

  /** An i32 (4 bytes available). */
  i32(): number {
    const v = this.view.getInt32(this.at, true);
    this.at += 4;
    return v;
  }

  /** An f32 (4 bytes available). */
  f32(): number {
    const v = this.view.getFloat32(this.at, true);
    this.at += 4;
    return v;
  }

  async readU64(field: string): Promise<number> {
    if (this.len - this.at < 8) await this.fill(8, field);
    return this.u64(field);
  }

  async readI32(field: string): Promise<number> {
    if (this.len - this.at < 4) await this.fill(4, field);
    return this.i32();
  }

  /** `n` raw bytes (a copy); `n` must already be checked against the file size. */
  async readBytes(n: number, field: string): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const piece = Math.min(n - done, this.window);
      if (this.len - this.at < piece) await this.fill(piece, field);
      out.set(this.buf.subarray(this.at, this.at + piece), done);
      this.at += piece;
      done += piece;
    }
    return out;
  }

  /**
   * Copies `count` f32 values (available) into `out[offset ..]`: a byte copy
   * on little-endian hosts.
   */
  f32Into(out: Float32Array, offset: number, count: number): void {
    if (LITTLE_ENDIAN_HOST) {
      new Uint8Array(out.buffer, out.byteOffset + offset * 4, count * 4).set(
        this.buf.subarray(this.at, this.at + count * 4),
      );
      this.at += count * 4;
    } else {
      for (let i = 0; i < count; i++) out[offset + i] = this.f32();
    }
  }

  /** As {@link f32Into} for i32 values. */
  i32Into(out: Int32Array, offset: number, count: number): void {
    if (LITTLE_ENDIAN_HOST) {
      new Uint8Array(out.buffer, out.byteOffset + offset * 4, count * 4).set(
        this.buf.subarray(this.at, this.at + count * 4),
      );
      this.at += count * 4;
    } else {
      for (let i = 0; i < count; i++) out[offset + i] = this.i32();
    }
  }
}
