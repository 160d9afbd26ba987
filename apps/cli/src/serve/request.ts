// The JSON bodies of `POST /predict`, checked and turned into typed arrays.
import type { CsrMatrix } from "@annexml/sparse-io";

/**
 * A request body the server refuses (HTTP 400): `field` names where, in
 * the body's own terms (`rows[3].features[2][0]`), `message` says why.
 */
export class BadRequest extends Error {
  override readonly name = "BadRequest";
  readonly statusCode = 400;
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** One row to predict: feature ids ascending and unique, values finite (float32). */
export interface RowRequest {
  kind: "row";
  indices: Int32Array;
  values: Float32Array;
  k: number;
}

/** Rows to predict together: a CSR matrix (rows not yet normalised), `k` labels each. */
export interface BatchRequest {
  kind: "batch";
  features: CsrMatrix;
  k: number;
}

export type PredictRequest = RowRequest | BatchRequest;

/** Largest feature id a request may name (ids are 32-bit signed, as everywhere). */
const MAX_FEATURE = 0x7fffffff;

const FIELDS_ROW = ["features", "k"];
const FIELDS_BATCH = ["rows", "k"];

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function checkKeys(object: Record<string, unknown>, valid: readonly string[], at: string): void {
  for (const key of Object.keys(object)) {
    if (!valid.includes(key)) {
      throw new BadRequest(
        `${at}${at ? "." : ""}${key}`,
        `unknown field (valid: ${valid.join(", ")})`,
      );
    }
  }
}

/**
 * The body of `POST /predict`: one row `{ "features": [[index, value],
 * ...], "k": 5 }` or a batch `{ "rows": [{ "features": [...] }, ...], "k":
 * 5 }`. `k` is optional (default `defaultK`) and at most `maxK`. Feature
 * pairs may come in any order (they are sorted); a repeated index, an index
 * that is not a non-negative 32-bit integer, a value that is not a finite
 * float32, a missing field or an unknown one throws {@link BadRequest}
 * naming it. `shared` puts a batch's arrays on SharedArrayBuffers (for
 * worker threads).
 */
export function parsePredictBody(
  body: unknown,
  limits: { defaultK: number; maxK: number; shared?: boolean },
): PredictRequest {
  if (!isObject(body)) {
    throw new BadRequest(
      "body",
      `must be a JSON object { "features": [[index, value], ...] } or { "rows": [...] }, but is ${describe(body)}`,
    );
  }
  const k = parseK(body.k, limits);
  if ("rows" in body) {
    if ("features" in body)
      throw new BadRequest("rows", "give 'features' (one row) or 'rows' (a batch), not both");
    checkKeys(body, FIELDS_BATCH, "");
    return { kind: "batch", features: parseRows(body.rows, limits.shared === true), k };
  }
  checkKeys(body, FIELDS_ROW, "");
  if (!("features" in body)) {
    throw new BadRequest("features", "missing (give 'features' for one row or 'rows' for a batch)");
  }
  const pairs = checkPairs(body.features, "features");
  const indices = new Int32Array(pairs.length);
  const values = new Float32Array(pairs.length);
  fillRow(pairs, "features", indices, values, 0);
  return { kind: "row", indices, values, k };
}

function parseK(k: unknown, limits: { defaultK: number; maxK: number }): number {
  if (k === undefined) return limits.defaultK;
  if (typeof k !== "number" || !Number.isInteger(k) || k < 1 || k > limits.maxK) {
    throw new BadRequest("k", `must be an integer from 1 to ${limits.maxK}, but is ${describe(k)}`);
  }
  return k;
}

/** `features` must be an array of [index, value] pairs; returns it. */
function checkPairs(features: unknown, at: string): unknown[][] {
  if (features === undefined) throw new BadRequest(at, "missing");
  if (!Array.isArray(features)) {
    throw new BadRequest(
      at,
      `must be an array of [index, value] pairs, but is ${describe(features)}`,
    );
  }
  for (let p = 0; p < features.length; p++) {
    const pair = features[p];
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new BadRequest(
        `${at}[${p}]`,
        `must be a pair [index, value], but is ${describe(pair)}`,
      );
    }
    const [index, value] = pair;
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index > MAX_FEATURE) {
      throw new BadRequest(
        `${at}[${p}][0]`,
        `a feature index must be an integer from 0 to ${MAX_FEATURE}, but is ${describe(index)}`,
      );
    }
    if (typeof value !== "number" || !Number.isFinite(Math.fround(value))) {
      throw new BadRequest(
        `${at}[${p}][1]`,
        `a feature value must be a finite number (float32), but is ${describe(value)}`,
      );
    }
  }
  return features as unknown[][];
}

/**
 * Writes checked pairs into `indices` / `values` from `offset`, sorted by
 * index; a repeated index throws naming the later pair.
 */
function fillRow(
  pairs: unknown[][],
  at: string,
  indices: Int32Array,
  values: Float32Array,
  offset: number,
): void {
  const n = pairs.length;
  let sorted = true;
  for (let p = 1; p < n && sorted; p++)
    sorted = (pairs[p][0] as number) > (pairs[p - 1][0] as number);
  const order = Array.from({ length: n }, (_, p) => p);
  // Stable: of two pairs with one index, the later one is named.
  if (!sorted) order.sort((a, b) => (pairs[a][0] as number) - (pairs[b][0] as number));
  for (let j = 0; j < n; j++) {
    const p = order[j];
    const index = pairs[p][0] as number;
    if (j > 0 && index === indices[offset + j - 1]) {
      const first = order[j - 1];
      throw new BadRequest(
        `${at}[${Math.max(p, first)}][0]`,
        `feature index ${index} repeats the one of ${at}[${Math.min(p, first)}]`,
      );
    }
    indices[offset + j] = index;
    values[offset + j] = pairs[p][1] as number;
  }
}

function parseRows(rows: unknown, shared: boolean): CsrMatrix {
  if (rows === undefined) throw new BadRequest("rows", "missing");
  if (!Array.isArray(rows)) {
    throw new BadRequest(
      "rows",
      `must be an array of { "features": [...] }, but is ${describe(rows)}`,
    );
  }
  const checked: unknown[][][] = [];
  let nnz = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    const at = `rows[${r}]`;
    if (!isObject(row)) {
      throw new BadRequest(at, `must be an object { "features": [...] }, but is ${describe(row)}`);
    }
    checkKeys(row, ["features"], at);
    const pairs = checkPairs(row.features, `${at}.features`);
    checked.push(pairs);
    nnz += pairs.length;
  }
  const buffer = (bytes: number) =>
    shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  const indptr = new Int32Array(buffer(4 * (rows.length + 1)));
  const indices = new Int32Array(buffer(4 * nnz));
  const values = new Float32Array(buffer(4 * nnz));
  let cols = 0;
  for (let r = 0; r < checked.length; r++) {
    fillRow(checked[r], `rows[${r}].features`, indices, values, indptr[r]);
    indptr[r + 1] = indptr[r] + checked[r].length;
    if (indptr[r + 1] > indptr[r]) cols = Math.max(cols, indices[indptr[r + 1] - 1] + 1);
  }
  return { rows: rows.length, cols, indptr, indices, values };
}
