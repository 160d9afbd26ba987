import {
  ChunkedLineParser,
  decimalEnd,
  errorAt,
  fieldEnd,
  LF,
  parseDecimal,
  sortUniqueRange,
} from "./bytes.js";
import { AnnexmlError, badInput, badOption } from "./errors.js";
import { finalize, grow, MAX_INT32 } from "./growable.js";
import type { KnnResult, LabelMatrix } from "./types.js";

/**
 * A prediction result file, parsed: one row per line, in file order.
 *
 * Invariants: `truth.rows === predictions.rows`; every truth row is sorted
 * ascending and unique; `predictions.k` is the largest number of predictions
 * on any line (0 when no line has one), and a row with fewer is padded at the
 * end with id `-1` and score `NaN`. Predictions keep the order of the file
 * (not re-sorted); a label repeated within a line is kept as often as it
 * occurs. `truth.cols` is one more than the largest label id on any line,
 * true or predicted, so every id of the file is below it.
 */
export interface ResultFile {
  readonly truth: LabelMatrix;
  /** Scores are the file's decimals rounded to 32-bit floats. */
  readonly predictions: KnnResult;
}

/** Options of {@link formatResultChunks} and {@link writeResultFile}. */
export interface FormatResultOptions {
  /** Truth row of the first prediction row, for writing a batch of a larger file. */
  truthRowOffset?: number;
  /** Lines per yielded string chunk; bounds the size of each chunk. */
  rowsPerChunk?: number;
}

/** Defaults of {@link FormatResultOptions}. */
export const DEFAULT_FORMAT_RESULT_OPTIONS: Required<FormatResultOptions> = {
  truthRowOffset: 0,
  rowsPerChunk: 4096,
};

/**
 * Checks `options` and fills in the defaults; throws an `AnnexmlError` `BAD_OPTION` naming
 * the bad value.
 */
export function validateFormatResultOptions(
  options: FormatResultOptions = {},
): Required<FormatResultOptions> {
  const merged = { ...DEFAULT_FORMAT_RESULT_OPTIONS, ...options };
  const { truthRowOffset, rowsPerChunk } = merged;
  if (!Number.isSafeInteger(truthRowOffset) || truthRowOffset < 0) {
    throw badOption(`truthRowOffset must be a non-negative integer, but is ${truthRowOffset}`);
  }
  if (!Number.isSafeInteger(rowsPerChunk) || rowsPerChunk < 1) {
    throw badOption(`rowsPerChunk must be a positive integer, but is ${rowsPerChunk}`);
  }
  return merged;
}

// ---------------------------------------------------------------------------
// Writing

/**
 * Formats a score as C's `printf("%.1f")` does, which is what the original
 * AnnexML writes: the exact binary value rounded to one decimal, ties (only
 * values like 0.25 or 1.75 are exact ties) to even. `toFixed` would round
 * those up ("0.3" where the original writes "0.2").
 */
function formatScore(score: number, digits: number): string {
  const magnitude = Math.abs(score);
  const sign = score < 0 || Object.is(score, -0) ? "-" : "";
  // toFixed switches to exponent notation from 1e21 on; such doubles are integers.
  if (magnitude >= 1e21) return `${sign}${BigInt(magnitude)}.${"0".repeat(digits)}`;
  // More digits (fractional scores, e.g. weighted votes): no halfway ties to worry about.
  if (digits !== 1) return sign + magnitude.toFixed(digits);
  let text = magnitude.toFixed(1);
  const quarters = magnitude * 4;
  // An exact tie of one decimal is an odd multiple of 1/4; toFixed rounded it away from zero.
  if (quarters % 2 === 1) {
    const last = text.charCodeAt(text.length - 1) - 48;
    if (last % 2 === 1) text = `${text.slice(0, -1)}${last - 1}`;
  }
  return sign + text;
}

/**
 * Formats one line of a result file, without the newline:
 * `true_labels<TAB>label:score,label:score,...` (true labels comma-separated,
 * scores with one decimal as the original's `%.1f`). Empty truth gives a line
 * starting with the TAB; no predictions give nothing after it.
 *
 * Predictions are written in the given order, the first `count` entries
 * (default all), stopping early at the first negative id (the padding of a
 * {@link KnnResult} row). Throws an `AnnexmlError` `BAD_INPUT` for a non-finite score of a
 * written entry: the file format has no way to say it. `digits` (1 to 9,
 * default 1 as the original) decimals per score: fractional scores need
 * more, or the one decimal ties them and a reader re-ranks them by label id.
 */
export function formatResultLine(
  trueLabels: ArrayLike<number>,
  ids: ArrayLike<number>,
  scores: ArrayLike<number>,
  count: number = ids.length,
  digits = 1,
): string {
  if (!Number.isInteger(digits) || digits < 1 || digits > 9) {
    throw badOption(`digits must be an integer in [1, 9], but is ${digits}`);
  }
  let line = "";
  for (let i = 0; i < trueLabels.length; i++)
    line += i === 0 ? `${trueLabels[i]}` : `,${trueLabels[i]}`;
  line += "\t";
  const n = Math.min(count, ids.length);
  for (let j = 0; j < n; j++) {
    const id = ids[j];
    if (id < 0) break;
    const score = scores[j];
    if (!Number.isFinite(score)) {
      throw badInput(`the score of label ${id} (entry ${j}) must be finite, but is ${score}`);
    }
    line += `${j === 0 ? "" : ","}${id}:${formatScore(score, digits)}`;
  }
  return line;
}

/**
 * Formats prediction rows as result-file text, in chunks of whole lines
 * (each ending with `\n`) of at most `rowsPerChunk` lines, for
 * `AtomicFileWriter.write` or {@link writeFileAtomic}.
 *
 * Prediction row `r` is written with the true labels of
 * `truth` row `truthRowOffset + r`, so a large prediction run can be written
 * batch by batch. Throws an `AnnexmlError` `BAD_INPUT` when `truth` has too few rows.
 */
export function* formatResultChunks(
  truth: LabelMatrix,
  predictions: KnnResult,
  options: FormatResultOptions = {},
): Generator<string, void, undefined> {
  const { truthRowOffset, rowsPerChunk } = validateFormatResultOptions(options);
  const { rows, k, ids, scores } = predictions;
  if (truthRowOffset + rows > truth.rows) {
    throw badInput(
      `truth must have at least truthRowOffset + predictions.rows = ${truthRowOffset + rows} rows, but has ${truth.rows}`,
    );
  }
  if (ids.length < rows * k || scores.length < rows * k) {
    throw badInput(
      `predictions.ids and .scores must hold rows * k = ${rows * k} entries, but hold ${ids.length} and ${scores.length}`,
    );
  }
  const { indptr, indices } = truth;
  let chunk = "";
  let inChunk = 0;
  for (let r = 0; r < rows; r++) {
    const t = truthRowOffset + r;
    chunk += formatResultLine(
      indices.subarray(indptr[t], indptr[t + 1]),
      ids.subarray(r * k, r * k + k),
      scores.subarray(r * k, r * k + k),
    );
    chunk += "\n";
    if (++inChunk === rowsPerChunk) {
      yield chunk;
      chunk = "";
      inChunk = 0;
    }
  }
  if (inChunk > 0) yield chunk;
}

// ---------------------------------------------------------------------------
// Reading

const CR = 13;
const TAB = 9;
const SPACE = 32;
const COMMA = 44;
const ZERO = 48;
const NINE = 57;
const COLON = 58;

const decoder = new TextDecoder();

/** Padded prediction entries allowed per byte of a result file (a full line has 1 per 4+ bytes). */
const MAX_PADDED_PER_BYTE = 4;
/** Padded prediction entries always allowed (8 MB of ids and scores). */
const MIN_PADDED_LIMIT = 1 << 20;

/**
 * Incremental parser of prediction result files. Feed it byte chunks of any
 * size with {@link ResultFileParser.push} (lines may straddle chunks), then
 * call {@link ResultFileParser.finish}.
 *
 * Every line is one row, a blank line too (a row with no true labels and no
 * predictions, as the reference evaluation script counts it); a newline at
 * the end of the file does not start another row. A line is
 * `true_labels<blanks>predictions`: the true labels are comma-separated
 * non-negative integers (empty when the line starts with a blank; repeats are
 * merged), the predictions `label:score` pairs separated by commas with no
 * blanks. The separator is normally one TAB; any run of spaces and tabs is
 * accepted, like the script's `split()`. Also accepted: CRLF, trailing
 * blanks, a UTF-8 BOM, a last line without newline. Scores are decimals
 * (`12`, `12.0`, `-1.5e3`) stored as 32-bit floats; `nan` and `inf` are
 * rejected. A file whose rows, padded to the longest line, would need more
 * than 4 entries per byte of the file (plus 2^20) is refused with code
 * `TOO_LARGE` (memory stays proportional to the file). Anything else throws
 * an `AnnexmlError` with code `BAD_RESULT_LINE`, the file, 1-based line and column (in bytes) and the
 * offending text.
 */
export class ResultFileParser extends ChunkedLineParser {
  private line = 0;
  private rows = 0;
  private maxLabelId = -1;

  private truthPtr = new Int32Array(1 << 10);
  private truthIds = new Int32Array(1 << 12);
  private truthCount = 0;

  private predPtr = new Int32Array(1 << 10);
  private predIds = new Int32Array(1 << 14);
  private predScores = new Float32Array(1 << 14);
  private predCount = 0;
  private maxPredictions = 0;

  /** Bytes pushed so far: bounds the padded prediction arrays {@link finish} allocates. */
  private bytes = 0;

  /** @param source Name used in error messages (a path, `-`, or a caller's name). */
  constructor(readonly source: string = "<memory>") {
    super();
  }

  /** Parses the complete lines of `chunk` and keeps the partial last line for later. */
  override push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    super.push(chunk);
  }

  protected override parseLines(buf: Uint8Array, pos: number, limit: number): number {
    for (;;) {
      const newline = buf.indexOf(LF, pos);
      if (newline < 0 || newline >= limit) return pos;
      this.parseLine(buf, pos, newline);
      pos = newline + 1;
    }
  }

  /** Parses a last line without newline and returns the file's rows (see {@link ResultFile}). */
  finish(): ResultFile {
    this.flushLastLine();
    const rows = this.rows;
    const k = this.maxPredictions;
    if (rows * k > MAX_INT32) {
      throw new AnnexmlError(
        "TOO_LARGE",
        `${rows} rows of up to ${k} predictions are more than 2^31-1 entries`,
        {
          file: this.source,
        },
      );
    }
    // Every row is padded to the longest line's k: a few long lines among many
    // short ones would make a small file cost gigabytes. A file written by
    // predict has about k predictions on every line (4+ bytes each).
    if (rows * k > MAX_PADDED_PER_BYTE * this.bytes + MIN_PADDED_LIMIT) {
      throw new AnnexmlError(
        "TOO_LARGE",
        `${rows} rows padded to the longest line's ${k} predictions need ${rows * k} entries, ` +
          `more than ${MAX_PADDED_PER_BYTE} per byte of the file: most lines have far fewer predictions than the longest`,
        { file: this.source },
      );
    }
    const ids = new Int32Array(rows * k).fill(-1);
    const scores = new Float32Array(rows * k).fill(Number.NaN);
    const ptr = this.predPtr;
    for (let r = 0; r < rows; r++) {
      const from = ptr[r];
      const to = ptr[r + 1];
      ids.set(this.predIds.subarray(from, to), r * k);
      scores.set(this.predScores.subarray(from, to), r * k);
    }
    return {
      truth: {
        rows,
        cols: this.maxLabelId + 1,
        indptr: finalize(this.truthPtr, rows + 1, false),
        indices: finalize(this.truthIds, this.truthCount, false),
      },
      predictions: { rows, k, ids, scores },
    };
  }

  /**
   * Parses one line `buf[start, end)` (without its newline). `buf[end]` is
   * always a newline, and after trimming a blank or CR, so digit loops stop
   * there without bound checks.
   */
  private parseLine(buf: Uint8Array, start: number, end: number): void {
    this.line++;
    const bom = this.line === 1 && end - start >= 3 && buf[start] === 0xef;
    if (bom && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3;
    const lineStart = start;
    let c = 0;
    while (end > start && ((c = buf[end - 1]) === SPACE || c === TAB || c === CR)) end--;
    let p = start;

    // True labels: the first field, unless the line starts with a blank.
    const truthFrom = this.truthCount;
    if (p < end && (c = buf[p]) !== SPACE && c !== TAB) {
      let truthIds = this.truthIds;
      let count = this.truthCount;
      for (;;) {
        const tokenStart = p;
        let id = 0;
        while ((c = buf[p]) >= ZERO && c <= NINE) {
          id = id * 10 + (c - ZERO);
          p++;
        }
        if (p === tokenStart || (p < end && c !== COMMA && c !== SPACE && c !== TAB)) {
          this.truthError(buf, lineStart, tokenStart, end);
        }
        if (id > MAX_INT32) this.fail("true label id above 2^31-1", buf, lineStart, tokenStart, p);
        if (count === truthIds.length) truthIds = this.truthIds = grow(truthIds, count + 1);
        truthIds[count++] = id;
        if (p === end || c !== COMMA) break;
        p++;
      }
      this.truthCount = count;
      this.finishTruth(truthFrom);
    }
    while (p < end && ((c = buf[p]) === SPACE || c === TAB)) p++;

    // Predictions: `label:score` pairs separated by commas.
    let ids = this.predIds;
    let scores = this.predScores;
    let n = this.predCount;
    const predFrom = n;
    let maxId = this.maxLabelId;
    while (p < end) {
      const tokenStart = p;
      let id = 0;
      while ((c = buf[p]) >= ZERO && c <= NINE) {
        id = id * 10 + (c - ZERO);
        p++;
      }
      if (p === tokenStart || p === end || c !== COLON)
        this.predictionError(buf, lineStart, tokenStart, end);
      if (id > MAX_INT32)
        this.fail("predicted label id above 2^31-1", buf, lineStart, tokenStart, p);
      p++;
      const valueStart = p;
      let score = parseDecimal(buf, valueStart, end);
      p = decimalEnd;
      c = buf[p];
      if (Number.isNaN(score)) this.scoreError(buf, lineStart, tokenStart, valueStart, end);
      if (p < end && c !== COMMA) {
        if (c === SPACE || c === TAB) {
          this.fail(
            "predictions must be label:score pairs separated by commas, without blanks",
            buf,
            lineStart,
            p,
            end,
          );
        }
        this.scoreError(buf, lineStart, tokenStart, valueStart, end);
      }
      score = Math.fround(score);
      if (!Number.isFinite(score)) {
        this.fail("score overflows a 32-bit float", buf, lineStart, tokenStart, p);
      }
      if (n === ids.length) {
        ids = this.predIds = grow(ids, n + 1);
        scores = this.predScores = grow(scores, n + 1);
      }
      ids[n] = id;
      scores[n] = score;
      n++;
      if (id > maxId) maxId = id;
      if (p < end) {
        // A comma: another pair must follow.
        p++;
        if (p === end) this.fail("empty prediction after a comma", buf, lineStart, p - 1, end);
      }
    }
    this.predCount = n;
    this.maxLabelId = maxId;
    if (n - predFrom > this.maxPredictions) this.maxPredictions = n - predFrom;
    this.closeRow();
  }

  /** Sorts and de-duplicates the row's true labels (a set, as the script reads them). */
  private finishTruth(from: number): void {
    const to = sortUniqueRange(this.truthIds, from, this.truthCount);
    this.truthCount = to;
    if (this.truthIds[to - 1] > this.maxLabelId) this.maxLabelId = this.truthIds[to - 1];
  }

  private closeRow(): void {
    const r = ++this.rows;
    if (r === this.truthPtr.length) {
      if (r >= MAX_INT32) {
        throw new AnnexmlError("TOO_LARGE", "more than 2^31-2 rows", {
          file: this.source,
          line: this.line,
        });
      }
      this.truthPtr = grow(this.truthPtr, r + 1);
      this.predPtr = grow(this.predPtr, r + 1);
    }
    this.truthPtr[r] = this.truthCount;
    this.predPtr[r] = this.predCount;
  }

  private fail(
    reason: string,
    buf: Uint8Array,
    lineStart: number,
    from: number,
    to: number,
  ): never {
    const where = { file: this.source, line: this.line };
    throw errorAt("BAD_RESULT_LINE", reason, where, buf, lineStart, from, to);
  }

  private truthError(buf: Uint8Array, lineStart: number, tokenStart: number, end: number): never {
    const stop = fieldEnd(buf, tokenStart, end);
    const field = decoder.decode(buf.subarray(lineStart, fieldEnd(buf, lineStart, end)));
    const hint = field.includes(":")
      ? " (a line without true labels must start with a TAB)"
      : tokenStart === stop || buf[tokenStart] === COMMA
        ? " (empty label: stray comma)"
        : "";
    this.fail(`true label must be a non-negative integer${hint}`, buf, lineStart, tokenStart, stop);
  }

  private predictionError(
    buf: Uint8Array,
    lineStart: number,
    tokenStart: number,
    end: number,
  ): never {
    const stop = pairEnd(buf, tokenStart, end);
    const pair = decoder.decode(buf.subarray(tokenStart, stop));
    const reason =
      stop === tokenStart
        ? "empty prediction (stray comma)"
        : !pair.includes(":")
          ? "prediction must be label:score, but has no ':'"
          : "predicted label must be a non-negative integer";
    this.fail(reason, buf, lineStart, tokenStart, stop);
  }

  private scoreError(
    buf: Uint8Array,
    lineStart: number,
    tokenStart: number,
    valueStart: number,
    end: number,
  ): never {
    const stop = pairEnd(buf, tokenStart, end);
    const value = decoder.decode(buf.subarray(valueStart, stop)).toLowerCase().replace(/^[+-]/, "");
    const reason =
      value === ""
        ? "score is empty"
        : value === "nan" || value === "inf" || value === "infinity"
          ? "score must be a finite number"
          : "score is not a number";
    this.fail(reason, buf, lineStart, tokenStart, stop);
  }
}

/** End of the prediction pair that starts at `from` (at a comma or blank). */
function pairEnd(buf: Uint8Array, from: number, end: number): number {
  let p = from;
  while (p < end && buf[p] !== COMMA && buf[p] !== SPACE && buf[p] !== TAB) p++;
  return p;
}

/** Parses a whole in-memory result file (bytes or text; see {@link ResultFileParser}). Browser-safe. */
export function parseResultFile(input: Uint8Array | string, source = "<memory>"): ResultFile {
  const parser = new ResultFileParser(source);
  parser.push(typeof input === "string" ? new TextEncoder().encode(input) : input);
  return parser.finish();
}
