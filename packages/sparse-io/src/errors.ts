/** Machine-readable reason of an {@link AnnexmlError}. */
export type AnnexmlErrorCode =
  /** A feature token without the `:` between index and value. */
  | "MISSING_COLON"
  /** A feature index that is not a non-negative integer. */
  | "BAD_INDEX"
  /** A feature or label id above 2^31 - 1. */
  | "ID_TOO_LARGE"
  /** A feature token with nothing after the `:`. */
  | "EMPTY_VALUE"
  /** A feature value that is not a number. */
  | "BAD_VALUE"
  /** A feature value that is NaN or infinite. */
  | "NON_FINITE_VALUE"
  /** The same feature index twice in one row. */
  | "DUPLICATE_FEATURE"
  /** A label that is not a non-negative integer. */
  | "BAD_LABEL"
  /** The header's row count differs from the rows read. */
  | "HEADER_MISMATCH"
  /** A line of a prediction result file that does not parse. */
  | "BAD_RESULT_LINE"
  /** More non-zeros than 32-bit indices can address. */
  | "TOO_LARGE"
  /** The file cannot be opened or read. */
  | "FILE_UNREADABLE"
  /** An output that cannot be created or written (no directory, no permission, ENOSPC). */
  | "FILE_UNWRITABLE"
  /** A file that is not of the expected kind (e.g. not a model). */
  | "BAD_FORMAT"
  /**
   * An invalid option, configuration key or value, or a scalar argument out
   * of range (a `k`, an offset, a row id, a name): misuse by the caller.
   */
  | "BAD_OPTION"
  /**
   * An in-memory data argument (a matrix, vector, graph, label sets, arrays
   * of a model, an output buffer) whose type, shape or values break its
   * documented invariants, e.g. a CSR row with unsorted indices.
   */
  | "BAD_INPUT"
  /** The task queue of a distributed run (its Redis) cannot be reached. */
  | "QUEUE_UNAVAILABLE"
  /**
   * A task of a distributed run failed on a worker: a worker of another
   * version, a work directory the worker does not see, or the task's own error.
   */
  | "QUEUE_TASK_FAILED";

/** Where in an input an error was found. Lines and columns are 1-based; 0 = unknown. */
export interface ErrorLocation {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** The offending text, truncated to a readable length. */
  readonly text?: string;
}

const MAX_TEXT = 60;

/** Shortens `text` for an error message, keeping its start. */
export function truncateText(text: string, max = MAX_TEXT): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * A problem the caller can act on, told apart from a bug by its class and
 * its {@link AnnexmlErrorCode}: a bad option (`BAD_OPTION`), malformed
 * in-memory data (`BAD_INPUT`), or a problem with a file (the other codes).
 * Every package of the repository throws it for these; anything else thrown
 * (a stray `TypeError` or `RangeError`) is a bug. The message reads
 * `file:line:column: what was wrong: "offending text"` so a CLI can print it
 * as one line (without a location it is just the reason).
 */
export class AnnexmlError extends Error {
  override readonly name = "AnnexmlError";
  readonly code: AnnexmlErrorCode;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly text: string | undefined;
  /** The message without the location prefix. */
  readonly reason: string;

  constructor(
    code: AnnexmlErrorCode,
    reason: string,
    where: ErrorLocation = {},
    options?: ErrorOptions,
  ) {
    const text = where.text === undefined ? undefined : truncateText(where.text);
    super(formatMessage(reason, where, text), options);
    this.code = code;
    this.reason = reason;
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
    this.text = text;
  }
}

function formatMessage(reason: string, where: ErrorLocation, text: string | undefined): string {
  let prefix = where.file ?? "";
  if (where.line) prefix += `${prefix ? ":" : "line "}${where.line}`;
  if (where.line && where.column) prefix += `:${where.column}`;
  const quoted = text === undefined ? "" : `: ${JSON.stringify(text)}`;
  return `${prefix ? `${prefix}: ` : ""}${reason}${quoted}`;
}

/**
 * An {@link AnnexmlError} with code `BAD_OPTION` and no location: the way
 * every `validate…()` and entry point reports a bad option or argument.
 * `reason` names the option and its value, e.g.
 * `"k must be a positive integer, but is 0"`.
 */
export function badOption(reason: string): AnnexmlError {
  return new AnnexmlError("BAD_OPTION", reason);
}

/**
 * An {@link AnnexmlError} with code `BAD_INPUT` and no location: an
 * in-memory data argument breaks its invariants. `reason` names the
 * argument, the row and the value, e.g.
 * `"features: indptr decreases at row 3"`.
 */
export function badInput(reason: string): AnnexmlError {
  return new AnnexmlError("BAD_INPUT", reason);
}
