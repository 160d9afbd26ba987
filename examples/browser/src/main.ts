// The page's script: fetches a model and a test file (XMC text), loads the
// model from its bytes, predicts every row (one batch), shows the first
// rows' top labels (predictRow, with names when the model has them), and
// publishes the results on `window.__annexml` for the test.
import { AnnexmlModel } from "@annexml/model";
import { AnnexmlError, parseDataset } from "@annexml/sparse-io";
import { formatScore } from "./format.js";

/** What the page publishes when it is done (`status` tells which half is set). */
export type PageResult =
  | {
      status: "done";
      rows: number;
      k: number;
      /** The batch's `ids` / `scores` (`model.predict`), row-major. */
      ids: Int32Array;
      scores: Float32Array;
      /** `predictRow` of the first rows: labels and scores, per row. */
      single: { labels: number[]; scores: number[]; names?: string[] }[];
      /** Milliseconds: load (bytes to model), parse, batch predict. */
      timings: { load: number; parse: number; predict: number };
    }
  | { status: "error"; code: string | null; message: string };

declare global {
  interface Window {
    __annexml?: PageResult;
  }
}

const query = new URLSearchParams(location.search);
const modelUrl = query.get("model") ?? "model.bin";
const testUrl = query.get("test") ?? "test.txt";
const k = Number(query.get("k") ?? 5);
const shownRows = Number(query.get("rows") ?? 10);

function element<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** A table cell holding one span per item (`hit` when it is a true label). */
function cell(items: { text: string; hit?: boolean }[]): HTMLTableCellElement {
  const td = document.createElement("td");
  items.forEach((item, i) => {
    if (i > 0) td.append(", ");
    const span = document.createElement("span");
    span.textContent = item.text;
    if (item.hit) span.className = "hit";
    td.append(span);
  });
  return td;
}

async function run(): Promise<void> {
  element("model-url").textContent = modelUrl;
  element("test-url").textContent = testUrl;
  const [modelBytes, testBytes] = await Promise.all([fetchBytes(modelUrl), fetchBytes(testUrl)]);

  let t = performance.now();
  const model = AnnexmlModel.fromBytes(modelBytes, { source: modelUrl });
  const load = performance.now() - t;
  t = performance.now();
  const test = parseDataset(testBytes, { source: testUrl });
  const parse = performance.now() - t;
  t = performance.now();
  const top = model.predict(test.features, { k });
  const predict = performance.now() - t;

  // The first rows one at a time, through a reusable predictor.
  const { features, labels } = test;
  const predictor = model.predictor({ k });
  const single: { labels: number[]; scores: number[]; names?: string[] }[] = [];
  const body = element<HTMLTableElement>("top").tBodies[0];
  for (let r = 0; r < Math.min(shownRows, features.rows); r++) {
    const from = features.indptr[r];
    const to = features.indptr[r + 1];
    const row = predictor.predictRow(
      features.indices.subarray(from, to),
      features.values.subarray(from, to),
      k,
    );
    single.push({
      labels: Array.from(row.labels),
      scores: Array.from(row.scores),
      ...(row.names ? { names: row.names } : {}),
    });
    const truth = new Set(labels.indices.subarray(labels.indptr[r], labels.indptr[r + 1]));
    const name = (label: number, i?: number) => {
      const text = (i === undefined ? model.labelName(label) : row.names?.[i]) ?? "";
      return text ? `${label} ${text}` : String(label);
    };
    const tr = document.createElement("tr");
    const index = document.createElement("td");
    index.className = "num";
    index.textContent = String(r);
    tr.append(
      index,
      cell(Array.from(truth, (label) => ({ text: name(label) }))),
      cell(
        Array.from(row.labels, (label, i) => ({
          text: `${name(label, i)} (${formatScore(row.scores[i])})`,
          hit: truth.has(label),
        })),
      ),
    );
    body.append(tr);
  }
  element("top").hidden = false;
  element("status").textContent =
    `${model.numLearners} learners, ${test.features.rows} rows predicted (top ${k}) in ` +
    `${predict.toFixed(0)} ms; model loaded in ${load.toFixed(0)} ms, rows parsed in ${parse.toFixed(0)} ms.`;
  window.__annexml = {
    status: "done",
    rows: top.rows,
    k: top.k,
    ids: top.ids,
    scores: top.scores,
    single,
    timings: { load, parse, predict },
  };
}

run().catch((error: unknown) => {
  const code = error instanceof AnnexmlError ? error.code : null;
  const message = error instanceof Error ? error.message : String(error);
  element("status").textContent = "Failed.";
  const box = element("error");
  box.textContent = code ? `${code}: ${message}` : `Error: ${message}`;
  box.hidden = false;
  window.__annexml = { status: "error", code, message };
});
