import { badInput } from "./errors.js";
import type { CsrMatrix, Dataset, LabelMatrix } from "./types.js";

/** Options of {@link formatDataset}. */
export interface FormatOptions {
  /** Write the `N F L` header line (default true). */
  header?: boolean;
  /** Rows per yielded text chunk (default 4096). */
  rowsPerChunk?: number;
}

/**
 * The shortest decimal text that reads back (through a float32) as exactly
 * `value`: integers as integers, everything else with at most 9 significant
 * digits.
 */
export function formatFloat32(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) <= 16777216) {
    return Object.is(value, -0) ? "-0" : String(value);
  }
  // The first precision that reads back is minimal, so it has no trailing zeros.
  for (let precision = 1; precision < 9; precision++) {
    const text = value.toPrecision(precision);
    if (Math.fround(Number(text)) === value) return text.replace("e+", "e");
  }
  return value.toPrecision(9).replace("e+", "e");
}

/** Formats row `r` of a dataset as one line (without newline). */
export function formatRow(features: CsrMatrix, labels: LabelMatrix, r: number): string {
  let line = "";
  for (let p = labels.indptr[r], end = labels.indptr[r + 1]; p < end; p++) {
    line += p === labels.indptr[r] ? String(labels.indices[p]) : `,${labels.indices[p]}`;
  }
  // An empty label field still needs its separator: the line starts with a blank.
  for (let p = features.indptr[r], end = features.indptr[r + 1]; p < end; p++) {
    line += ` ${features.indices[p]}:${formatFloat32(features.values[p])}`;
  }
  return line;
}

/**
 * Formats a dataset as Extreme Classification Repository text, in chunks of
 * whole lines (for streaming to a file). The text reads back to the same
 * matrices. A row with neither labels nor features cannot be written (the
 * format would make it a blank line, which is not a row): it is a
 * `AnnexmlError` `BAD_INPUT` naming the row.
 */
export function* formatDataset(
  data: Pick<Dataset, "features" | "labels">,
  options: FormatOptions = {},
): Generator<string, void, undefined> {
  const { features, labels } = data;
  if (features.rows !== labels.rows) {
    throw badInput(
      `features and labels must have the same rows, but have ${features.rows} and ${labels.rows}`,
    );
  }
  const rowsPerChunk = options.rowsPerChunk ?? 4096;
  let chunk = options.header === false ? "" : `${features.rows} ${features.cols} ${labels.cols}\n`;
  for (let r = 0; r < features.rows; r++) {
    if (
      features.indptr[r] === features.indptr[r + 1] &&
      labels.indptr[r] === labels.indptr[r + 1]
    ) {
      throw badInput(`row ${r} has neither labels nor features and cannot be written as text`);
    }
    chunk += `${formatRow(features, labels, r)}\n`;
    if ((r + 1) % rowsPerChunk === 0) {
      yield chunk;
      chunk = "";
    }
  }
  if (chunk) yield chunk;
}
