/**
 * Byte-level helpers shared by the text parsers (datasets, result files):
 * lines arrive as byte ranges, numbers are read without making strings.
 */
import { AnnexmlError, type AnnexmlErrorCode } from "./errors.js";
import { grow } from "./growable.js";

export const LF = 10;
const SPACE = 32;
const TAB = 9;
const ZERO = 48;
const NINE = 57;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const UPPER_E = 69;
const LOWER_E = 101;

/** Exact powers of ten: with a mantissa below 2^53 one multiply or divide is correctly rounded. */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
const EXACT_MANTISSA = 2 ** 53;
const decoder = new TextDecoder();

/** Position after the number read by the last {@link parseDecimal} call. */
export let decimalEnd = 0;

/**
 * Reads `[sign] digits [. digits] [(e|E) [sign] digits]` starting at
 * `start` (at least one digit) and returns its value, rounded like
 * `Number()`; NaN when no well-formed number starts there. Sets
 * {@link decimalEnd}; what follows the number is the caller's to check.
 * `buf[end]` must not be a digit (parsers keep a newline there).
 */
export function parseDecimal(buf: Uint8Array, start: number, end: number): number {
  let p = start;
  let c = buf[p];
  let negative = false;
  if (c === MINUS || c === PLUS) {
    negative = c === MINUS;
    p++;
  }
  let mantissa = 0;
  let exponent = 0;
  let digits = 0;
  while ((c = buf[p]) >= ZERO && c <= NINE) {
    mantissa = mantissa * 10 + (c - ZERO);
    digits++;
    p++;
  }
  if (p < end && c === DOT) {
    p++;
    while ((c = buf[p]) >= ZERO && c <= NINE) {
      mantissa = mantissa * 10 + (c - ZERO);
      exponent--;
      digits++;
      p++;
    }
  }
  decimalEnd = p;
  if (digits === 0) return Number.NaN;
  if (p < end && (c === LOWER_E || c === UPPER_E)) {
    p++;
    let exponentSign = 1;
    if (p < end && ((c = buf[p]) === MINUS || c === PLUS)) {
      if (c === MINUS) exponentSign = -1;
      p++;
    }
    let e = 0;
    const exponentStart = p;
    while ((c = buf[p]) >= ZERO && c <= NINE) {
      if (e < 100000) e = e * 10 + (c - ZERO);
      p++;
    }
    decimalEnd = p;
    if (p === exponentStart) return Number.NaN;
    exponent += exponentSign * e;
  }
  if (mantissa < EXACT_MANTISSA && exponent >= -22 && exponent <= 22) {
    const value = exponent < 0 ? mantissa / POW10[-exponent] : mantissa * POW10[exponent];
    return negative ? -value : value;
  }
  return Number(decoder.decode(buf.subarray(start, p)));
}

/**
 * Sorts `ids[from, to)` ascending and removes repeats in place; returns the
 * new end (so `to - result` repeats were dropped). Already sorted unique
 * runs (the common case) cost one pass.
 */
export function sortUniqueRange(ids: Int32Array, from: number, to: number): number {
  let sorted = true;
  for (let i = from + 1; i < to; i++) {
    if (ids[i] <= ids[i - 1]) {
      sorted = false;
      break;
    }
  }
  if (sorted) return to;
  ids.subarray(from, to).sort();
  let w = from + 1;
  for (let i = from + 1; i < to; i++) {
    if (ids[i] !== ids[w - 1]) ids[w++] = ids[i];
  }
  return w;
}

/**
 * Cuts byte chunks of any size into lines for a parser that reads them in
 * place. A line split across chunks is carried over; every line handed to
 * {@link parseLines} ends with a newline byte, also the last line of the
 * input (the carry keeps a sentinel newline).
 */
export abstract class ChunkedLineParser {
  private carry = new Uint8Array(1 << 12);
  private carryLength = 0;

  /**
   * Parses every complete line of `buf[pos, limit)` (each ending at a
   * newline before `limit`) and returns the position after the last one.
   */
  protected abstract parseLines(buf: Uint8Array, pos: number, limit: number): number;

  /** Parses the complete lines of `chunk` and keeps the partial last line for later. */
  push(chunk: Uint8Array): void {
    let pos = 0;
    if (this.carryLength > 0) {
      const newline = chunk.indexOf(LF);
      if (newline < 0) {
        this.appendCarry(chunk, 0, chunk.length);
        return;
      }
      this.appendCarry(chunk, 0, newline);
      this.parseLines(this.carry, 0, this.carryLength + 1);
      this.carryLength = 0;
      pos = newline + 1;
    }
    pos = this.parseLines(chunk, pos, chunk.length);
    if (pos < chunk.length) this.appendCarry(chunk, pos, chunk.length);
  }

  /** Bytes waiting for the end of their line. */
  protected get pendingBytes(): number {
    return this.carryLength;
  }

  /** Parses a last line that had no newline (call once the input has ended). */
  protected flushLastLine(): void {
    if (this.carryLength > 0) {
      this.parseLines(this.carry, 0, this.carryLength + 1);
      this.carryLength = 0;
    }
  }

  private appendCarry(chunk: Uint8Array, from: number, to: number): void {
    const needed = this.carryLength + (to - from);
    // One spare byte for the newline sentinel that ends the line in place.
    if (needed + 1 > this.carry.length) this.carry = grow(this.carry, needed + 1);
    this.carry.set(chunk.subarray(from, to), this.carryLength);
    this.carry[needed] = LF;
    this.carryLength = needed;
  }
}

/** End of the blank-separated field that starts at `from`. */
export function fieldEnd(buf: Uint8Array, from: number, end: number): number {
  let p = from;
  while (p < end && buf[p] !== SPACE && buf[p] !== TAB) p++;
  return p;
}

/**
 * The error for the bytes `buf[from, to)` of line `line` of `file`, whose
 * first byte is at `lineStart` (the column counts from there).
 */
export function errorAt(
  code: AnnexmlErrorCode,
  reason: string,
  where: { file: string; line: number },
  buf: Uint8Array,
  lineStart: number,
  from: number,
  to: number,
): AnnexmlError {
  return new AnnexmlError(code, reason, {
    file: where.file,
    line: where.line,
    column: from - lineStart + 1,
    text: decoder.decode(buf.subarray(from, to)),
  });
}
