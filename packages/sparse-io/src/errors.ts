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
  /** A file that is not of the expected kind (e.g. not a model). */
  | "BAD_FORMAT"
  /** An invalid option, configuration key or value. */
  | "BAD_OPTION";

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
 * A problem with data or a file (as opposed to API misuse, which throws
 * `TypeError` / `RangeError`). The message reads
 * `file:line:column: what was wrong: "offending text"` so a CLI can print it
 * as one line.
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
