/**
 * Benchmark of @annexml/ann-search: recall@10 against queries per second of
 * the graph index (both candidate orders, eps in {0, 0.1, 0.2, 0.5}) against
 * the brute-force index and hnswlib-node (HNSW, C++), single thread, on the
 * same clustered unit vectors (100,000 x 50 and 6,000 x 50), plus the
 * bibtex rows projected to 50 dimensions. Index build times for both. The
 * default configuration and the brute force also run with the scalar
 * JavaScript distance kernel (the fallback where WebAssembly SIMD is
 * unavailable), for comparison with the default WebAssembly one.
 *
 * Timings are medians over interleaved rounds (every configuration once per
 * round, ours and hnswlib's alternating), so load from other processes
 * spreads evenly over all of them. The last output line is one JSON object
 * with the headline figures.
 *
 *   pnpm --filter @annexml/ann-search bench [-- --quick]
 */
import { existsSync } from "node:fs";
import type { DenseMatrix, KnnResult } from "@annexml/sparse-io";
import { readDataset, recallAtK } from "@annexml/sparse-io";
import type { AnnIndex, CandidateOrder } from "../src/index.js";
import { buildIndex, DEFAULT_GRAPH_INDEX_OPTIONS, indexFromArrays } from "../src/index.js";
import { clusteredUnitVectors } from "../src/synthetic.js";
import { projectRows } from "../src/testing.js";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 3 : 7;
const QUERIES = 1000;
const K = 10;
const EPS = [0, 0.1, 0.2, 0.5];
const ORDERS: CandidateOrder[] = ["lifo", "best-first"];
const EFS = [10, 16, 24, 32, 48, 64, 96, 128];

interface Hnsw {
  initIndex(maxElements: number, m?: number, efConstruction?: number, randomSeed?: number): void;
  addPoint(point: number[], label: number): void;
  setEf(ef: number): void;
  searchKnn(query: number[], k: number): { neighbors: number[]; distances: number[] };
}
type HnswCtor = new (space: string, dim: number) => Hnsw;

async function loadHnswlib(): Promise<{ ctor: HnswCtor | null; note: string }> {
  try {
    const mod = (await import("hnswlib-node")) as unknown as {
      default?: { HierarchicalNSW: HnswCtor };
      HierarchicalNSW?: HnswCtor;
    };
    const ctor = mod.HierarchicalNSW ?? mod.default?.HierarchicalNSW ?? null;
    if (ctor === null) return { ctor, note: "hnswlib-node loaded but has no HierarchicalNSW" };
    return { ctor, note: "hnswlib-node 3 (HNSW, M = 16, efConstruction = 200)" };
  } catch (error) {
    return {
      ctor: null,
      note: `hnswlib-node could not be loaded (${(error as Error).message.split("\n")[0]}); comparison skipped`,
    };
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[s.length >> 1];
};
const seconds = (t0: number): number => (performance.now() - t0) / 1000;
const fmt = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : "-");

interface Point {
  label: string;
  order?: CandidateOrder;
  eps?: number;
  ef?: number;
  recall: number;
  evals: number;
  times: number[];
  qps: number;
}

function emptyResult(rows: number): KnnResult {
  return { rows, k: K, ids: new Int32Array(rows * K), scores: new Float32Array(rows * K) };
}

/**
 * The recall `curve` (one point per eps) reaches at `evals` distance
 * computations: linear interpolation between its points; beyond its last
 * point, that point's recall (more work does not lower recall); NaN below
 * its first point.
 */
function interpolate(curve: Point[], evals: number): number {
  const pts = [...curve].sort((a, b) => a.evals - b.evals);
  if (evals < pts[0].evals) return Number.NaN;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1];
    const b = pts[i];
    if (evals <= b.evals) {
      const t = b.evals === a.evals ? 1 : (evals - a.evals) / (b.evals - a.evals);
      return a.recall + t * (b.recall - a.recall);
    }
  }
  return pts[pts.length - 1].recall;
}

async function runSet(name: string, X: DenseMatrix, Q: DenseMatrix, hnswCtor: HnswCtor | null) {
  console.log(`\n## ${name}: ${X.rows} x ${X.cols} vectors, ${Q.rows} queries, k = ${K}`);
  const brute = buildIndex("bruteForce", X);
  let t0 = performance.now();
  const exact = brute.searchBatch(Q, K);
  const bruteQps = Q.rows / seconds(t0);

  t0 = performance.now();
  const graph: AnnIndex = buildIndex("graph", X);
  const buildSec = seconds(t0);
  console.log(
    `graph index build: ${buildSec.toFixed(2)} s (kNN graph + tree; defaults); ${(graph.bytes / X.rows).toFixed(0)} bytes per row of its own`,
  );
  // The same index and the brute force with the scalar JavaScript kernel.
  const graphJs = indexFromArrays(graph.toArrays(), X, { kernel: "js" });
  const bruteJs = buildIndex("bruteForce", X, { kernel: "js" });

  // hnswlib: same vectors, one point at a time (its single-threaded path).
  let hnsw: Hnsw | null = null;
  let hnswBuildSec = Number.NaN;
  const qArrays: number[][] = [];
  if (hnswCtor !== null) {
    const rows: number[][] = [];
    for (let r = 0; r < X.rows; r++)
      rows.push(Array.from(X.data.subarray(r * X.stride, r * X.stride + X.cols)));
    for (let q = 0; q < Q.rows; q++)
      qArrays.push(Array.from(Q.data.subarray(q * Q.stride, q * Q.stride + Q.cols)));
    t0 = performance.now();
    hnsw = new hnswCtor("l2", X.cols);
    hnsw.initIndex(X.rows, 16, 200, 100);
    for (let r = 0; r < X.rows; r++) hnsw.addPoint(rows[r], r);
    hnswBuildSec = seconds(t0);
    console.log(`hnswlib build:     ${hnswBuildSec.toFixed(2)} s`);
  }

  const ours: Point[] = [];
  for (const order of ORDERS) {
    for (const eps of EPS) {
      ours.push({
        label: `${order} eps ${eps}`,
        order,
        eps,
        recall: 0,
        evals: 0,
        times: [],
        qps: 0,
      });
    }
  }
  const theirs: Point[] =
    hnsw === null
      ? []
      : EFS.map((ef) => ({
          label: `hnswlib ef ${ef}`,
          ef,
          recall: 0,
          evals: Number.NaN,
          times: [],
          qps: 0,
        }));
  const jsPoint: Point = {
    label: "best-first eps 0, JavaScript kernel",
    order: "best-first",
    eps: 0,
    recall: 0,
    evals: 0,
    times: [],
    qps: 0,
  };
  const out = emptyResult(Q.rows);
  const hnswIds = new Int32Array(Q.rows * K);
  const bruteTimes: number[] = [bruteQps];
  t0 = performance.now();
  bruteJs.searchBatch(Q, K, {}, out);
  const bruteJsTimes: number[] = [Q.rows / seconds(t0)];
  for (let round = 0; round < ROUNDS; round++) {
    for (const p of ours) {
      const e0 = graph.distanceEvaluations;
      t0 = performance.now();
      graph.searchBatch(Q, K, { eps: p.eps, order: p.order }, out);
      p.times.push(seconds(t0));
      if (round === 0) {
        p.recall = recallAtK(out, exact);
        p.evals = (graph.distanceEvaluations - e0) / Q.rows;
      }
    }
    if (hnsw !== null) {
      for (const p of theirs) {
        hnsw.setEf(p.ef ?? K);
        t0 = performance.now();
        for (let q = 0; q < Q.rows; q++) {
          const res = hnsw.searchKnn(qArrays[q], K);
          if (round === 0) {
            hnswIds.fill(-1, q * K, (q + 1) * K);
            for (let j = 0; j < res.neighbors.length; j++) hnswIds[q * K + j] = res.neighbors[j];
          }
        }
        p.times.push(seconds(t0));
        if (round === 0)
          p.recall = recallAtK({ rows: Q.rows, k: K, ids: hnswIds, scores: out.scores }, exact);
      }
    }
    {
      const e0 = graphJs.distanceEvaluations;
      t0 = performance.now();
      graphJs.searchBatch(Q, K, {}, out);
      jsPoint.times.push(seconds(t0));
      if (round === 0) {
        jsPoint.recall = recallAtK(out, exact);
        jsPoint.evals = (graphJs.distanceEvaluations - e0) / Q.rows;
      }
    }
    if (round < 2 && !quick) {
      t0 = performance.now();
      brute.searchBatch(Q, K, {}, out);
      bruteTimes.push(Q.rows / seconds(t0));
      t0 = performance.now();
      bruteJs.searchBatch(Q, K, {}, out);
      bruteJsTimes.push(Q.rows / seconds(t0));
    }
  }
  for (const p of [...ours, ...theirs, jsPoint]) p.qps = Q.rows / median(p.times);
  const bruteMedianQps = median(bruteTimes);
  const bruteJsMedianQps = median(bruteJsTimes);

  console.log("\n| index | recall@10 | distances/query | queries/s |");
  console.log("|---|---:|---:|---:|");
  console.log(`| brute force | 1.0000 | ${X.rows} | ${fmt(bruteMedianQps)} |`);
  console.log(`| brute force, JavaScript kernel | 1.0000 | ${X.rows} | ${fmt(bruteJsMedianQps)} |`);
  for (const p of [...ours, jsPoint, ...theirs]) {
    console.log(`| ${p.label} | ${p.recall.toFixed(4)} | ${fmt(p.evals)} | ${fmt(p.qps)} |`);
  }

  // Candidate orders at equal distance computations.
  const curve = (order: CandidateOrder) => ours.filter((p) => p.order === order);
  const lifo = curve("lifo");
  const bf = curve("best-first");
  console.log(
    "\nat equal distance computations (other order's recall interpolated on its eps curve):",
  );
  const tally = { bestFirst: 0, lifo: 0, tie: 0 };
  for (const [mine, other, name] of [
    [lifo, bf, "lifo"],
    [bf, lifo, "best-first"],
  ] as const) {
    for (const p of mine) {
      const r = interpolate(other, p.evals);
      if (Number.isNaN(r)) continue;
      const bf = name === "lifo" ? r : p.recall;
      const lf = name === "lifo" ? p.recall : r;
      if (Math.abs(bf - lf) < 5e-5) tally.tie++;
      else if (bf > lf) tally.bestFirst++;
      else tally.lifo++;
      console.log(
        `  ${p.label.padEnd(22)} ${fmt(p.evals).padStart(6)} distances: recall ${p.recall.toFixed(4)} vs ${name === "lifo" ? "best-first" : "lifo"} ${r.toFixed(4)}`,
      );
    }
  }
  const defaultRecall = ours.find(
    (p) => p.order === DEFAULT_GRAPH_INDEX_OPTIONS.order && p.eps === 0,
  );

  const atTarget = (ps: Point[]) =>
    ps.filter((p) => p.recall >= 0.95).sort((a, b) => b.qps - a.qps)[0] ?? null;
  const best = atTarget(ours);
  const bestHnsw = atTarget(theirs);
  const ratio = best !== null && bestHnsw !== null ? best.qps / bestHnsw.qps : Number.NaN;
  console.log(
    `\nfastest at recall@10 >= 0.95: ours ${best?.label ?? "none"} (${fmt(best?.qps ?? Number.NaN)} q/s, recall ${best?.recall.toFixed(4)}), ` +
      `hnswlib ${bestHnsw?.label ?? "n/a"} (${fmt(bestHnsw?.qps ?? Number.NaN)} q/s, recall ${bestHnsw?.recall.toFixed(4) ?? "-"}): ratio ${fmt(ratio, 2)}`,
  );
  return {
    summary: {
      recall10: round4(best?.recall ?? Number.NaN),
      qps: Math.round(best?.qps ?? Number.NaN),
      config: best?.label ?? null,
      hnswlibQps: bestHnsw === null ? null : Math.round(bestHnsw.qps),
      hnswlibRecall10: bestHnsw === null ? null : round4(bestHnsw.recall),
      hnswlibConfig: bestHnsw?.label ?? null,
      qpsRatio: Number.isNaN(ratio) ? null : Number(ratio.toFixed(2)),
      bruteQps: Math.round(bruteMedianQps),
      bruteJsQps: Math.round(bruteJsMedianQps),
      defaultJsQps: Math.round(jsPoint.qps),
      bytesPerRow: Math.round(graph.bytes / X.rows),
      buildSec: Number(buildSec.toFixed(2)),
      hnswlibBuildSec: Number.isNaN(hnswBuildSec) ? null : Number(hnswBuildSec.toFixed(2)),
      defaultRecall10: round4(defaultRecall?.recall ?? Number.NaN),
      defaultQps: Math.round(defaultRecall?.qps ?? Number.NaN),
    },
    tally,
  };
}

function round4(x: number): number {
  return Number(x.toFixed(4));
}

async function main() {
  const { ctor, note } = await loadHnswlib();
  console.log(
    `# @annexml/ann-search benchmark (${quick ? "quick, " : ""}${ROUNDS} rounds, median q/s; single thread)`,
  );
  console.log(`peer: ${note}`);
  const result: Record<string, unknown> = {};
  const tally = { bestFirst: 0, lifo: 0, tie: 0 };
  const add = (t: typeof tally) => {
    tally.bestFirst += t.bestFirst;
    tally.lifo += t.lifo;
    tally.tie += t.tie;
  };
  for (const n of [100000, 6000]) {
    const X = clusteredUnitVectors({ rows: n, dim: 50, centres: 200, noise: 0.1, seed: 1 });
    const Q = clusteredUnitVectors({
      rows: QUERIES,
      dim: 50,
      centres: 200,
      noise: 0.1,
      seed: 2,
      centreSeed: 1,
    });
    const r = await runSet(`clustered n = ${n}`, X, Q, ctor);
    result[`n${n}`] = r.summary;
    add(r.tally);
  }
  const dir = existsSync("/work/shared/data/bibtex/train.txt")
    ? "/work/shared/data"
    : new URL("../../../data", import.meta.url).pathname;
  const tr = await readDataset(`${dir}/bibtex/train.txt`);
  const te = await readDataset(`${dir}/bibtex/test.txt`);
  const X = projectRows(tr.features, 50, 17);
  const Q = projectRows(te.features, 50, 17, tr.features.cols);
  const r = await runSet("bibtex rows projected to 50 dimensions (real-like)", X, Q, ctor);
  result.bibtex = r.summary;
  add(r.tally);
  console.log(
    `\nhigher recall at equal distance computations: best-first ${tally.bestFirst}, lifo ${tally.lifo}, tie ${tally.tie} (default order: ${DEFAULT_GRAPH_INDEX_OPTIONS.order})`,
  );
  result.equalDistanceComparisons = tally;
  result.hnswlib = ctor === null ? note : "hnswlib-node";
  console.log(JSON.stringify(result));
}

await main();
