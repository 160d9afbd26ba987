// Test helper (not exported from the package): byte-level mutations of valid
// files for the fuzz tests and the fuzz campaign (`scripts/fuzz.ts`). A
// mutation is plain data, so a failing case prints and replays exactly.
import fc from "fast-check";
import { AnnexmlError } from "./errors.js";

/** Binary "huge count" values: the limits a corrupt header most often holds. */
export const HUGE_BINARY = [
  0x7fffffff,
  0x80000000,
  0xffffffff,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  -1,
  0,
  1,
] as const;

/** Text "huge count" numbers, replacing a number of a text file. */
export const HUGE_TEXT = [
  "2147483647",
  "2147483648",
  "4294967295",
  "4294967296",
  "9007199254740993",
  "99999999999999999999999999",
  "0",
  "-1",
  "1e308",
  "1e39",
  "nan",
] as const;

/** Tokens inserted into text files: separators and edge values of the format. */
const TEXT_TOKENS = [
  " ",
  "\t",
  "\n",
  "\r\n",
  ":",
  ",",
  "#",
  "\ufeff",
  "1:1",
  "0:0",
  "2147483647:1",
  "1:nan",
  "1:-inf",
  "1:1e-50",
  "1:3.4e38",
  "1:1e39",
  "\n3 2147483647 4294967295\n",
  "\n",
] as const;

export type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "truncate"; at: number }
  | { kind: "overwrite"; at: number; bytes: number[] }
  | { kind: "insert"; at: number; bytes: number[] }
  | { kind: "delete"; at: number; length: number }
  | { kind: "u32"; at: number; value: number; width: 4 | 8 }
  | { kind: "number"; nth: number; text: string }
  | { kind: "token"; at: number; text: string }
  | { kind: "random"; bytes: number[] };

const position = fc.nat({ max: 0x7fffffff });
const smallBytes = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 });

/** Mutations that make sense for any file. */
export function byteMutation(): fc.Arbitrary<Mutation> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({ kind: fc.constant("flip"), at: position, bit: fc.nat(7) }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("truncate"), at: position }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant("overwrite"), at: position, bytes: smallBytes }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant("insert"), at: position, bytes: smallBytes }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("delete"),
        at: position,
        length: fc.integer({ min: 1, max: 64 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("random"),
        bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 512 }),
      }),
    },
  ) as fc.Arbitrary<Mutation>;
}

/** Mutations of binary files: byte mutations plus huge counts written over a field. */
export function binaryMutation(): fc.Arbitrary<Mutation> {
  return fc.oneof(
    { weight: 3, arbitrary: byteMutation() },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("u32"),
        at: position,
        value: fc.constantFrom(...HUGE_BINARY),
        width: fc.constantFrom(4 as const, 8 as const),
      }) as fc.Arbitrary<Mutation>,
    },
  );
}

/** Mutations of text files: byte mutations plus huge numbers and format tokens. */
export function textMutation(): fc.Arbitrary<Mutation> {
  return fc.oneof(
    { weight: 3, arbitrary: byteMutation() },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("number"),
        nth: position,
        text: fc.constantFrom(...HUGE_TEXT),
      }) as fc.Arbitrary<Mutation>,
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("token"),
        at: position,
        text: fc.constantFrom(...TEXT_TOKENS),
      }) as fc.Arbitrary<Mutation>,
    },
  );
}

/** One to four mutations in a row. */
export function mutations(one: fc.Arbitrary<Mutation>): fc.Arbitrary<Mutation[]> {
  return fc.array(one, { minLength: 1, maxLength: 4 });
}

const encoder = new TextEncoder();

/**
 * Applies `list` to a copy of `input` (never changed). Huge counts are
 * written at a multiple of 4 bytes: on a field boundary of a little-endian
 * file more often than not.
 */
export function applyMutations(input: Uint8Array, list: readonly Mutation[]): Uint8Array {
  // A copy (a Node Buffer's slice() would be a view of the seed).
  let bytes: Uint8Array = new Uint8Array(input);
  for (const m of list) bytes = applyOne(bytes, m);
  return bytes;
}

function applyOne(bytes: Uint8Array, m: Mutation): Uint8Array {
  const n = bytes.length;
  const at = n === 0 ? 0 : "at" in m ? m.at % (n + 1) : 0;
  switch (m.kind) {
    case "flip": {
      if (n === 0) return bytes;
      const out = bytes.slice();
      out[at % n] ^= 1 << m.bit;
      return out;
    }
    case "truncate":
      return bytes.slice(0, at);
    case "overwrite": {
      const out = bytes.slice();
      for (let i = 0; i < m.bytes.length && at + i < n; i++) out[at + i] = m.bytes[i];
      return out;
    }
    case "insert":
      return concat(bytes.subarray(0, at), Uint8Array.from(m.bytes), bytes.subarray(at));
    case "delete":
      return concat(bytes.subarray(0, at), bytes.subarray(Math.min(n, at + m.length)));
    case "u32": {
      const out = bytes.slice();
      const start = at - (at % 4);
      if (start + m.width > n) return out;
      const view = new DataView(out.buffer);
      if (m.width === 4) view.setUint32(start, m.value >>> 0, true);
      else view.setBigUint64(start, BigInt.asUintN(64, BigInt(m.value)), true);
      return out;
    }
    case "number":
      return replaceNumber(bytes, m.nth, m.text);
    case "token":
      return concat(bytes.subarray(0, at), encoder.encode(m.text), bytes.subarray(at));
    case "random":
      return Uint8Array.from(m.bytes);
  }
}

/** Replaces the `nth` (modulo their count) run of ASCII digits with `text`. */
function replaceNumber(bytes: Uint8Array, nth: number, text: string): Uint8Array {
  const runs: [number, number][] = [];
  for (let i = 0; i < bytes.length; ) {
    if (bytes[i] >= 48 && bytes[i] <= 57) {
      const start = i;
      while (i < bytes.length && bytes[i] >= 48 && bytes[i] <= 57) i++;
      runs.push([start, i]);
    } else i++;
  }
  if (runs.length === 0) return bytes;
  const [start, end] = runs[nth % runs.length];
  return concat(bytes.subarray(0, start), encoder.encode(text), bytes.subarray(end));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** What one fuzz case did, for the bounds the tests assert. */
export interface CaseOutcome {
  /** "ok" (accepted), "refused" (an AnnexmlError), or "bug" (anything else thrown). */
  result: "ok" | "refused" | "bug";
  error?: unknown;
  milliseconds: number;
  /** Growth of `process.memoryUsage().arrayBuffers` over the case (result still alive). */
  arrayBufferBytes: number;
  /** Growth of the resident set over the case. */
  rssBytes: number;
}

const keepAlive: { value: unknown } = { value: undefined };

/**
 * Runs one case and classifies it: only an `AnnexmlError` counts as a
 * refusal. `check` receives the result of an accepted input and throws when
 * it is garbage (a broken invariant): that counts as a bug too.
 */
export async function runCase<T>(
  run: () => T | Promise<T>,
  check: (value: T) => void = () => {},
): Promise<CaseOutcome> {
  const before = process.memoryUsage();
  const start = performance.now();
  let result: CaseOutcome["result"] = "ok";
  let error: unknown;
  let value: T | undefined;
  try {
    value = await run();
    check(value);
  } catch (e) {
    error = e;
    result = e instanceof AnnexmlError ? "refused" : "bug";
  }
  const milliseconds = performance.now() - start;
  const after = process.memoryUsage();
  // Keep the result alive until the measure.
  keepAlive.value = value;
  return {
    result,
    error,
    milliseconds,
    arrayBufferBytes: after.arrayBuffers - before.arrayBuffers,
    rssBytes: after.rss - before.rss,
  };
}

/** One-line description of an outcome's error, for reports. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const where = error.stack?.split("\n")[1]?.trim() ?? "";
    return `${error.constructor.name}: ${error.message.slice(0, 200)} ${where}`;
  }
  return String(error);
}

// ---------------------------------------------------------------------------
// Seeds and invariants of the text formats

/** Valid dataset files exercising every accepted form (header, comments, CRLF, BOM, empty fields). */
export const DATASET_SEEDS: readonly string[] = [
  "4 10 6\n1,2 0:1 3:0.5\n0 1:1.5e-3 9:-2\n 2:1\n5\n",
  "\ufeff# a comment\n3,1,3 7:1 2:2 # trailing comment\r\n\r\n\t4:1\r\n2 0:0.25\n",
  "0:1 1:2\n1 0:1\n2,3 5:1 6:1 7:1 8:1\n",
  "2 3 2\n0 0:1\n1 2:1",
];

const INT32 = 0x7fffffff;

/** Throws when an accepted dataset breaks an invariant of `Dataset` (garbage that got through). */
export function checkDataset(ds: {
  features: {
    rows: number;
    cols: number;
    indptr: Int32Array;
    indices: Int32Array;
    values: Float32Array;
  };
  labels: { rows: number; cols: number; indptr: Int32Array; indices: Int32Array };
  header: { rows: number; features: number; labels: number } | null;
}): void {
  checkCsrShape(ds.features, "features");
  checkCsrShape(ds.labels, "labels");
  if (ds.features.rows !== ds.labels.rows) throw new Error("features and labels differ in rows");
  if (ds.features.values.length !== ds.features.indices.length) throw new Error("values length");
  for (const v of ds.features.values) if (!Number.isFinite(v)) throw new Error(`value ${v}`);
  if (ds.header) {
    for (const [k, v] of Object.entries(ds.header)) {
      if (!Number.isSafeInteger(v) || v < 0 || v > 2 ** 31) throw new Error(`header ${k} = ${v}`);
    }
  }
}

/** Throws when an accepted result file breaks an invariant of `ResultFile`. */
export function checkResultFile(rf: {
  truth: { rows: number; cols: number; indptr: Int32Array; indices: Int32Array };
  predictions: { rows: number; k: number; ids: Int32Array; scores: Float32Array };
}): void {
  checkCsrShape(rf.truth, "truth");
  const { rows, k, ids, scores } = rf.predictions;
  if (rows !== rf.truth.rows) throw new Error("rows differ");
  if (ids.length !== rows * k || scores.length !== rows * k) throw new Error("k x rows");
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < -1 || id >= rf.truth.cols) throw new Error(`prediction id ${id}`);
    if (id >= 0 && !Number.isFinite(scores[i])) throw new Error(`score ${scores[i]}`);
  }
}

function checkCsrShape(
  m: { rows: number; cols: number; indptr: Int32Array; indices: Int32Array },
  name: string,
): void {
  if (!Number.isInteger(m.rows) || m.rows < 0) throw new Error(`${name}.rows = ${m.rows}`);
  if (!Number.isInteger(m.cols) || m.cols < 0 || m.cols > INT32 + 1) {
    throw new Error(`${name}.cols = ${m.cols}`);
  }
  if (m.indptr.length !== m.rows + 1 || m.indptr[0] !== 0) throw new Error(`${name}.indptr`);
  if (m.indptr[m.rows] !== m.indices.length) throw new Error(`${name}: nnz`);
  for (let r = 0; r < m.rows; r++) {
    let previous = -1;
    if (m.indptr[r + 1] < m.indptr[r]) throw new Error(`${name}: indptr decreases`);
    for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) {
      const c = m.indices[p];
      if (c <= previous || c >= m.cols)
        throw new Error(`${name}: row ${r} has ${c} after ${previous}`);
      previous = c;
    }
  }
}

/** Valid result files (truth TAB label:score pairs; empty truth, no predictions, CRLF, BOM). */
export const RESULT_SEEDS: readonly string[] = [
  "1,2\t2:10.0,5:3.5,1:-1.0\n\t3:1.0\n4\t\n\n0,3\t0:1e3\n",
  "\ufeff7\t7:2.0,1:1.5\r\n2,9 9:0.5\r\n",
  "0\t0:1.0,1:0.5,2:0.25,3:0.125",
];
