import {
  ChunkedLineParser,
  decimalEnd,
  errorAt,
  fieldEnd,
  LF,
  parseDecimal,
  sortUniqueRange,
} from "./bytes.js";
import { AnnexmlError, type AnnexmlErrorCode } from "./errors.js";
import { copyExact, finalize, grow, MAX_INT32 } from "./growable.js";
import type { Dataset, DatasetHeader, ParseWarnings } from "./types.js";

/** Options of {@link DatasetParser}, {@link parseDataset} and `readDataset`. */
export interface ParseOptions {
  /** Name used in error messages and stored in `Dataset.source`. */
  source?: string;
  /**
   * When true (default), a header line whose row count differs from the
   * number of rows read is an error naming both numbers.
   */
  checkHeader?: boolean;
  /** Allocate the result arrays on a `SharedArrayBuffer` (for worker threads). */
  shared?: boolean;
  /**
   * Expected total input bytes, when known (e.g. the file size). After the
   * first chunk the parser sizes its arrays for the whole input from it,
   * instead of growing them step by step.
   */
  sizeHint?: number;
}

export const DEFAULT_PARSE_OPTIONS: Required<ParseOptions> = {
  source: "<memory>",
  checkHeader: true,
  shared: false,
  sizeHint: 0,
};

const CR = 13;
const TAB = 9;
const SPACE = 32;
const HASH = 35;
const COMMA = 44;
const ZERO = 48;
const NINE = 57;
const COLON = 58;

/** Largest count a header may declare: ids are below 2^31, so at most 2^31 columns. */
const MAX_HEADER_COUNT = 2 ** 31;

/** A header row count above this is only a hint, never a preallocation. */
const MAX_ROW_HINT = 1 << 24;
/** Rows preallocated from a header when the input size is unknown (stdin, gzip). */
const UNSIZED_ROW_HINT = 1 << 16;
/** Bytes parsed before the arrays are sized from a size hint (see {@link DatasetParser.push}). */
const HINT_SAMPLE_BYTES = 1 << 16;
/** Input parsed per reservation of the worst case (see {@link DatasetParser.reserveFor}). */
const PIECE_BYTES = 1 << 18;

const decoder = new TextDecoder();

/**
 * Incremental parser of multi-label svmlight / Extreme Classification
 * Repository text. Feed it byte chunks of any size with {@link push} (lines
 * may straddle chunks), then call {@link finish}.
 *
 * Accepted: an optional `N F L` header line (the first non-blank line made of
 * exactly three integers; a count above 2^31 is refused), an empty label field (the line starts with a space
 * or tab), comma-separated labels, `index:value` features separated by spaces
 * or tabs in any order (sorted on load), CRLF, trailing blanks, a UTF-8 BOM,
 * `# comments` after whitespace or on their own line, and blank lines (which,
 * like comment lines, are not rows). Every other line is one row, also when
 * it has no features or no labels.
 */
export class DatasetParser extends ChunkedLineParser {
  private readonly source: string;
  private readonly checkHeader: boolean;
  private readonly shared: boolean;
  /** The size hint as given: the arrays are sized from it, and it bounds what a header's row count may preallocate. */
  private readonly expectedBytes: number;
  /** Times the arrays are still to be sized from the hint: after a first sample, then after the first chunk. */
  private reservesLeft: number;
  private bytesSeen = 0;

  private line = 0;
  private atStart = true;
  private seenContent = false;
  private header: DatasetHeader | null = null;

  private rows = 0;
  private featurePtr = new Int32Array(1 << 10);
  private featureIds = new Int32Array(1 << 14);
  private featureValues = new Float32Array(1 << 14);
  private nnz = 0;
  private labelPtr = new Int32Array(1 << 10);
  private labelIds = new Int32Array(1 << 12);
  private labelCount = 0;
  private maxFeatureId = -1;
  private maxLabelId = -1;
  private readonly warnings: ParseWarnings = {
    duplicateLabels: 0,
    firstDuplicateLabelLine: 0,
    featuresBeyondHeader: 0,
    labelsBeyondHeader: 0,
  };
  private sortKeys = new Float64Array(0);
  private sortValues = new Float32Array(0);

  constructor(options: ParseOptions = {}) {
    super();
    this.source = options.source ?? DEFAULT_PARSE_OPTIONS.source;
    this.checkHeader = options.checkHeader ?? DEFAULT_PARSE_OPTIONS.checkHeader;
    this.shared = options.shared ?? DEFAULT_PARSE_OPTIONS.shared;
    this.expectedBytes = options.sizeHint ?? DEFAULT_PARSE_OPTIONS.sizeHint;
    this.reservesLeft = this.expectedBytes > 0 ? 2 : 0;
  }

  /** Parses the complete lines of `chunk` and keeps the partial last line for later. */
  override push(chunk: Uint8Array): void {
    if (this.reservesLeft === 2 && chunk.length > HINT_SAMPLE_BYTES) {
      // Size the arrays from a small first sample, before the engine
      // optimises the line loop, and again after the first chunk (outside
      // the loop, from more rows): the rest of the input then parses without
      // growing them, so the optimised loop never meets a growth path it has
      // no type feedback for (a deoptimisation and a recompile of the loop,
      // 10-40 ms each in a fresh process).
      const cut = chunk.indexOf(LF, HINT_SAMPLE_BYTES) + 1;
      if (cut > 0 && cut < chunk.length) {
        this.push(chunk.subarray(0, cut));
        chunk = chunk.subarray(cut);
      }
    }
    // In pieces: each piece's worst case is reserved before its lines are
    // parsed (see reserveFor), so that headroom stays small.
    for (let at = 0; at < chunk.length; at += PIECE_BYTES) {
      super.push(
        at === 0 && chunk.length <= PIECE_BYTES ? chunk : chunk.subarray(at, at + PIECE_BYTES),
      );
    }
    this.bytesSeen += chunk.length;
    if (this.reservesLeft > 0) this.reserveFromHint();
  }

  /**
   * Makes room for everything `bytes` bytes of lines can hold (a label
   * takes 2 bytes at least, a feature 4, a row 2), so the line loop never
   * grows an array: a growth path the optimised loop meets without type
   * feedback deoptimises it. Past 2^31-1 entries the loop throws instead.
   */
  private reserveFor(bytes: number): void {
    const rows = this.rows + (bytes >> 1) + 2;
    if (rows > this.featurePtr.length) {
      this.featurePtr = grow(this.featurePtr, rows);
      this.labelPtr = grow(this.labelPtr, rows);
    }
    const labels = this.labelCount + (bytes >> 1) + 1;
    if (labels > this.labelIds.length) this.labelIds = grow(this.labelIds, labels);
    const nnz = this.nnz + (bytes >> 2) + 1;
    if (nnz > this.featureIds.length) {
      this.featureIds = grow(this.featureIds, nnz);
      this.featureValues = grow(this.featureValues, nnz);
    }
  }

  /** Extrapolates the densities seen so far to the expected input size (grows, never shrinks). */
  private reserveFromHint(): void {
    const ratio = (this.expectedBytes / Math.max(this.bytesSeen - this.pendingBytes, 1)) * 1.02;
    this.reservesLeft--;
    if (ratio <= 1.05) return;
    // The estimate plus one piece's worst case (see reserveFor): an accurate
    // estimate then needs no growth at the end of the input.
    const reserve = (used: number, perPiece: number) =>
      Math.min(Math.ceil(used * ratio) + perPiece + 64, MAX_INT32 - 1);
    if (this.nnz > 0) {
      const capacity = reserve(this.nnz, PIECE_BYTES >> 2);
      if (capacity > this.featureIds.length) {
        this.featureIds = grow(this.featureIds, capacity, true);
        this.featureValues = grow(this.featureValues, capacity, true);
      }
    }
    if (this.labelCount > 0) {
      const capacity = reserve(this.labelCount, PIECE_BYTES >> 1);
      if (capacity > this.labelIds.length) this.labelIds = grow(this.labelIds, capacity, true);
    }
    if (!this.header && this.rows > 0) {
      const capacity = reserve(this.rows + 1, PIECE_BYTES >> 1);
      if (capacity > this.featurePtr.length) {
        this.featurePtr = grow(this.featurePtr, capacity, true);
        this.labelPtr = grow(this.labelPtr, capacity, true);
      }
    }
  }

  /** Rows parsed and not yet taken by {@link takeRows}. */
  get pendingRows(): number {
    return this.rows;
  }

  /**
   * Returns the rows parsed so far (complete lines only) and starts a new
   * batch: for streaming a large input or stdin in bounded memory. Line
   * numbers, the header and the warnings carry on across batches.
   */
  takeRows(): Dataset {
    const batch = this.build(false);
    this.rowsTaken += this.rows;
    this.rows = 0;
    this.nnz = 0;
    this.labelCount = 0;
    return batch;
  }

  /**
   * Parses a last line without newline, cross-checks the header's row count
   * (over all batches) and returns the remaining rows.
   */
  finish(): Dataset {
    this.flushLastLine();
    const header = this.header;
    const total = this.rowsTaken + this.rows;
    if (header && this.checkHeader && header.rows !== total) {
      throw new AnnexmlError(
        "HEADER_MISMATCH",
        `the header declares ${header.rows} rows but the file has ${total} rows` +
          " (pass checkHeader: false to accept it)",
        { file: this.source, line: this.headerLine, column: 1 },
      );
    }
    return this.build(true);
  }

  /** The current rows as a dataset; `last` lets it hand over its arrays without a copy. */
  private build(last: boolean): Dataset {
    const header = this.header;
    const rows = this.rows;
    // A batch must copy (the buffers are reused); the last call may keep exact-size arrays.
    const shared = this.shared;
    const take = <T extends Int32Array | Float32Array>(array: T, length: number): T =>
      last ? finalize(array, length, shared) : copyExact(array, length, shared);
    const featureCols = Math.max(header?.features ?? 0, this.maxFeatureId + 1);
    const labelCols = Math.max(header?.labels ?? 0, this.maxLabelId + 1);
    return {
      features: {
        rows,
        cols: featureCols,
        indptr: take(this.featurePtr, rows + 1),
        indices: take(this.featureIds, this.nnz),
        values: take(this.featureValues, this.nnz),
      },
      labels: {
        rows,
        cols: labelCols,
        indptr: take(this.labelPtr, rows + 1),
        indices: take(this.labelIds, this.labelCount),
      },
      header,
      maxFeatureId: this.maxFeatureId,
      maxLabelId: this.maxLabelId,
      warnings: { ...this.warnings },
      source: this.source,
    };
  }

  private rowsTaken = 0;
  private headerLine = 0;

  /**
   * Parses every complete line of `buf[pos, limit)` and returns the
   * position after the last newline. Lines are parsed in one loop (not one
   * call per line) so the engine optimises it early in a cold process.
   * `buf[end]` of each line is its newline (the carry holds a sentinel one),
   * and trimming stops at a blank or CR, so digit loops need no bound checks.
   */
  protected override parseLines(buf: Uint8Array, pos: number, limit: number): number {
    this.reserveFor(limit - pos);
    for (;;) {
      const newline = buf.indexOf(LF, pos);
      if (newline < 0 || newline >= limit) return pos;
      let start = pos;
      let end = newline;
      pos = newline + 1;
      this.line++;
      if (this.atStart) {
        this.atStart = false;
        if (
          end - start >= 3 &&
          buf[start] === 0xef &&
          buf[start + 1] === 0xbb &&
          buf[start + 2] === 0xbf
        ) {
          start += 3;
        }
      }
      const lineStart = start;
      let c = 0;
      while (end > start && ((c = buf[end - 1]) === SPACE || c === TAB || c === CR)) end--;

      // Blank and comment-only lines are not rows.
      let p = start;
      while (p < end && ((c = buf[p]) === SPACE || c === TAB)) p++;
      if (p === end || buf[p] === HASH) continue;

      if (!this.seenContent) {
        this.seenContent = true;
        if (this.tryHeader(buf, start, end)) continue;
      }

      // Labels: the first field, unless the line starts with a blank (no labels).
      const labelStart = this.labelCount;
      if (p === start) {
        const labelIds = this.labelIds;
        let count = this.labelCount;
        for (;;) {
          const tokenStart = p;
          let id = 0;
          while ((c = buf[p]) >= ZERO && c <= NINE) {
            id = id * 10 + (c - ZERO);
            p++;
          }
          if (p === tokenStart || (p < end && (c = buf[p]) !== COMMA && c !== SPACE && c !== TAB)) {
            this.labelError(buf, lineStart, tokenStart, end);
          }
          if (id > MAX_INT32) {
            this.fail("ID_TOO_LARGE", "label id above 2^31-1", buf, lineStart, tokenStart, p);
          }
          if (count === labelIds.length) this.tooLarge("label entries");
          labelIds[count++] = id;
          if (p === end || c !== COMMA) break;
          p++;
        }
        this.labelCount = count;
      }

      // Features: `index:value` tokens separated by blanks.
      const featureStart = this.nnz;
      const ids = this.featureIds;
      const values = this.featureValues;
      let nnz = this.nnz;
      let previous = -1;
      let sorted = true;
      for (;;) {
        while (p < end && ((c = buf[p]) === SPACE || c === TAB)) p++;
        if (p === end || c === HASH) break;
        const tokenStart = p;
        let id = 0;
        while ((c = buf[p]) >= ZERO && c <= NINE) {
          id = id * 10 + (c - ZERO);
          p++;
        }
        if (p === tokenStart || p === end || c !== COLON)
          this.featureError(buf, lineStart, tokenStart, end);
        if (id > MAX_INT32) {
          this.fail("ID_TOO_LARGE", "feature index above 2^31-1", buf, lineStart, tokenStart, p);
        }
        p++;

        // Value at p: [sign] digits [. digits] [e [sign] digits], parsed from bytes.
        if (p === end || (c = buf[p]) === SPACE || c === TAB) {
          this.fail("EMPTY_VALUE", "feature value is empty", buf, lineStart, tokenStart, p);
        }
        let value: number;
        const next = buf[p + 1];
        if (
          c >= ZERO &&
          c <= NINE &&
          (next === SPACE || next === TAB || next === LF || next === CR)
        ) {
          // Fast path for one-digit values (binary bag-of-words files).
          value = c - ZERO;
          p++;
        } else {
          value = this.parseValue(buf, lineStart, tokenStart, p, end);
          p = this.valueEnd;
        }

        if (nnz === ids.length) this.tooLarge("feature non-zeros");
        ids[nnz] = id;
        values[nnz] = value;
        nnz++;
        if (id <= previous) sorted = false;
        previous = id;
      }
      this.nnz = nnz;

      if (!sorted) this.sortRow(featureStart, nnz, buf, lineStart, end);
      // Stored on every row (not only on a new maximum): a store the loop runs
      // rarely has no type feedback when it is optimised, and deoptimises it.
      if (nnz > featureStart) this.maxFeatureId = Math.max(this.maxFeatureId, ids[nnz - 1]);
      this.finishLabels(labelStart);
      this.closeRow();
    }
  }

  /** End of the value parsed by the last {@link parseValue} call. */
  private valueEnd = 0;

  /** Parses `[sign] digits [. digits] [e [sign] digits]` at `valueStart` into a float32 value. */
  private parseValue(
    buf: Uint8Array,
    lineStart: number,
    tokenStart: number,
    valueStart: number,
    end: number,
  ): number {
    let value = parseDecimal(buf, valueStart, end);
    const p = decimalEnd;
    const c = buf[p];
    if (Number.isNaN(value) || (p < end && c !== SPACE && c !== TAB && c !== HASH)) {
      this.valueError(buf, lineStart, tokenStart, valueStart, end);
    }
    value = Math.fround(value);
    if (value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY) {
      this.fail(
        "NON_FINITE_VALUE",
        "feature value overflows a 32-bit float",
        buf,
        lineStart,
        tokenStart,
        p,
      );
    }
    this.valueEnd = p;
    return value;
  }

  /** Sorts the row's features by index and rejects a repeated index. */
  private sortRow(from: number, to: number, buf: Uint8Array, lineStart: number, end: number): void {
    const ids = this.featureIds;
    const values = this.featureValues;
    const n = to - from;
    if (this.sortKeys.length < n) {
      this.sortKeys = new Float64Array(Math.max(n, 2 * this.sortKeys.length));
      this.sortValues = new Float32Array(this.sortKeys.length);
    }
    // Key = id * 2^21 + position: exact in a double and unique, so a numeric
    // sort of the keys orders the pairs and tells where each value came from.
    if (n >= 1 << 21) {
      throw new AnnexmlError(
        "TOO_LARGE",
        "a row with 2^21 or more features must be sorted by index",
        {
          file: this.source,
          line: this.line,
        },
      );
    }
    const keys = this.sortKeys.subarray(0, n);
    const scratch = this.sortValues;
    for (let i = 0; i < n; i++) {
      keys[i] = ids[from + i] * 2097152 + i;
      scratch[i] = values[from + i];
    }
    keys.sort();
    for (let i = 0; i < n; i++) {
      const key = keys[i];
      const id = Math.floor(key / 2097152);
      ids[from + i] = id;
      values[from + i] = scratch[key - id * 2097152];
      if (i > 0 && ids[from + i - 1] === id) this.duplicateFeature(id, buf, lineStart, end);
    }
  }

  /** Sorts and de-duplicates the row's labels (duplicates are merged and counted). */
  private finishLabels(from: number): void {
    const to = this.labelCount;
    if (to === from) return;
    const unique = sortUniqueRange(this.labelIds, from, to);
    if (unique < to) {
      if (this.warnings.duplicateLabels === 0) this.warnings.firstDuplicateLabelLine = this.line;
      this.warnings.duplicateLabels += to - unique;
      this.labelCount = unique;
    }
    this.maxLabelId = Math.max(this.maxLabelId, this.labelIds[unique - 1]);
  }

  private closeRow(): void {
    const r = ++this.rows;
    if (r === this.featurePtr.length) this.tooLarge("rows");
    this.featurePtr[r] = this.nnz;
    this.labelPtr[r] = this.labelCount;
  }

  /** Recognises `N F L`: exactly three non-negative integers. */
  private tryHeader(buf: Uint8Array, start: number, end: number): boolean {
    const numbers: number[] = [];
    let p = start;
    while (p < end) {
      let c = buf[p];
      if (c === SPACE || c === TAB) {
        p++;
        continue;
      }
      if (c === HASH) break;
      if (c < ZERO || c > NINE) return false;
      let n = 0;
      while ((c = buf[p]) >= ZERO && c <= NINE) {
        n = n * 10 + (c - ZERO);
        p++;
      }
      if (p < end && c !== SPACE && c !== TAB && c !== HASH) return false;
      numbers.push(n);
      if (numbers.length > 3) return false;
    }
    if (numbers.length !== 3) return false;
    const [rows, features, labels] = numbers;
    const largest = Math.max(rows, features, labels);
    if (largest > MAX_HEADER_COUNT) {
      // A count 32-bit ids cannot address: refused before anything is sized from it.
      const text = decoder.decode(buf.subarray(start, end));
      throw new AnnexmlError(
        "TOO_LARGE",
        `the header declares a count above 2^31 (${largest === Number.POSITIVE_INFINITY ? "overflow" : largest}): ids and rows are 32-bit`,
        { file: this.source, line: this.line, column: 1, text },
      );
    }
    this.header = { rows, features, labels };
    this.headerLine = this.line;
    // A row takes 2 bytes at least: a header claiming more rows than the
    // input can hold (corrupt) must not make a tiny file allocate for them.
    const plausible =
      this.expectedBytes > 0 ? Math.floor(this.expectedBytes / 2) + 1 : UNSIZED_ROW_HINT;
    if (rows > 0 && rows < MAX_ROW_HINT && rows <= plausible && rows + 1 > this.featurePtr.length) {
      this.featurePtr = grow(this.featurePtr, rows + 2);
      this.labelPtr = grow(this.labelPtr, rows + 2);
    }
    return true;
  }

  /** Arrays reserved up to 2^31-1 entries (see reserveFor) are full. */
  private tooLarge(what: string): never {
    throw new AnnexmlError("TOO_LARGE", `more than 2^31-1 ${what}`, {
      file: this.source,
      line: this.line,
    });
  }

  private fail(
    code: AnnexmlErrorCode,
    reason: string,
    buf: Uint8Array,
    lineStart: number,
    from: number,
    to: number,
  ): never {
    const where = { file: this.source, line: this.line };
    throw errorAt(code, reason, where, buf, lineStart, from, to);
  }

  private labelError(buf: Uint8Array, lineStart: number, tokenStart: number, end: number): never {
    const fieldStop = fieldEnd(buf, lineStart, end);
    const field = decoder.decode(buf.subarray(lineStart, fieldStop));
    const hint = field.includes(":")
      ? " (a row without labels must start with a space or tab)"
      : tokenStart >= fieldStop || buf[tokenStart] === COMMA
        ? " (empty label: stray comma)"
        : "";
    const reason = `label must be a non-negative integer${hint}`;
    this.fail("BAD_LABEL", reason, buf, lineStart, tokenStart, Math.max(fieldStop, tokenStart));
  }

  private featureError(buf: Uint8Array, lineStart: number, tokenStart: number, end: number): never {
    const tokenEnd = fieldEnd(buf, tokenStart, end);
    const colon = buf.subarray(tokenStart, tokenEnd).indexOf(COLON);
    if (colon < 0) {
      this.fail(
        "MISSING_COLON",
        "feature must be index:value, but has no ':'",
        buf,
        lineStart,
        tokenStart,
        tokenEnd,
      );
    }
    this.fail(
      "BAD_INDEX",
      "feature index must be a non-negative integer",
      buf,
      lineStart,
      tokenStart,
      tokenEnd,
    );
  }

  private valueError(
    buf: Uint8Array,
    lineStart: number,
    tokenStart: number,
    valueStart: number,
    end: number,
  ): never {
    const tokenEnd = fieldEnd(buf, tokenStart, end);
    const value = decoder
      .decode(buf.subarray(valueStart, tokenEnd))
      .toLowerCase()
      .replace(/^[+-]/, "");
    if (value === "nan" || value === "inf" || value === "infinity") {
      this.fail(
        "NON_FINITE_VALUE",
        "feature value must be finite",
        buf,
        lineStart,
        tokenStart,
        tokenEnd,
      );
    }
    this.fail("BAD_VALUE", "feature value is not a number", buf, lineStart, tokenStart, tokenEnd);
  }

  private duplicateFeature(id: number, buf: Uint8Array, lineStart: number, end: number): never {
    // Error path only: find the second token with this index to point at it.
    const text = decoder.decode(buf.subarray(lineStart, end));
    const pattern = new RegExp(`(^|[ \\t])(${id}:\\S*)`, "g");
    pattern.exec(text);
    const second = pattern.exec(text);
    const column = second ? second.index + second[1].length + 1 : 1;
    throw new AnnexmlError("DUPLICATE_FEATURE", `feature index ${id} appears twice in the row`, {
      file: this.source,
      line: this.line,
      column,
      text: second ? second[2] : String(id),
    });
  }
}

/** Parses a whole in-memory file (bytes or text). Browser-safe. */
export function parseDataset(input: Uint8Array | string, options: ParseOptions = {}): Dataset {
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  // Feed a first slice, so the parser can size its arrays for the rest.
  const first = Math.min(bytes.length, 1 << 18);
  const parser = new DatasetParser({ sizeHint: bytes.length, ...options });
  parser.push(bytes.subarray(0, first));
  parser.push(bytes.subarray(first));
  return parser.finish();
}
