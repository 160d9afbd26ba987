// Test helper (not exported): the seed models of the model-file fuzz tests
// and of the fuzz campaign (`scripts/fuzz.ts`), and the check of a model that
// loaded from mutated bytes.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AnnexmlModel } from "@annexml/model";
import { type CsrMatrix, type Dataset, type KnnResult, parseDataset } from "@annexml/sparse-io";
import { type CaseOutcome, runCase } from "../../../packages/sparse-io/src/fuzz.testing.js";
import { loadModel, train } from "./api.js";
import { axis, type CppModelSpec, writeCppModel } from "./import/cpp-writer.testing.js";
import { saveModel } from "./model/files.js";

const D = 4;

/**
 * A small original-format model: two learners (K = 1 with a feature-0
 * duplicate row, K = 2 with an unsorted partitioner), four training rows.
 */
export function cppSeedModel(): Uint8Array {
  const embeddings = [axis(D, 0), axis(D, 1), axis(D, 3), axis(D, 2)];
  const spec: CppModelSpec = {
    embSize: D,
    numNn: 2,
    numEdge: 2,
    labels: [[2, 1, 2], [0], [1, 3], [4]],
    learners: [
      {
        k: 1,
        partitioner: [],
        projections: [
          [
            [0, [0.1, 0.2, 0.3, 0.9]],
            [0, axis(D, 2)],
            [1, axis(D, 0)],
            [5, axis(D, 1)],
          ],
        ],
        embeddings,
        members: [[0, 1, 2, 3]],
      },
      {
        k: 2,
        partitioner: [
          [
            [1, 0.5],
            [0, 0.25],
          ],
          [[0, 1]],
          [[1, -1]],
        ],
        projections: [
          [
            [0, [0.1, 0.2, 0.3, 0.9]],
            [1, axis(D, 0)],
          ],
          [[5, axis(D, 1)]],
        ],
        embeddings,
        members: [
          [1, 3],
          [0, 2],
        ],
      },
    ],
  };
  return writeCppModel(spec);
}

/** A small training set: 60 rows, features 0..29, labels 0..9, in a fixed pattern. */
export function tinyDataset(): Pick<Dataset, "features" | "labels"> {
  const lines: string[] = [];
  for (let r = 0; r < 60; r++) {
    const labels = [r % 10, (r * 3 + 1) % 10].filter((l, i, a) => a.indexOf(l) === i);
    const features = [r % 30, (r * 7 + 3) % 30, (r * 11 + 5) % 30]
      .filter((f, i, a) => a.indexOf(f) === i)
      .sort((a, b) => a - b);
    lines.push(`${labels.join(",")} ${features.map((f) => `${f}:1`).join(" ")}`);
  }
  const d = parseDataset(`${lines.join("\n")}\n`);
  return { features: d.features, labels: d.labels };
}

/** Bytes of a model trained on {@link tinyDataset} (one learner, one epoch each), saved to a file. */
export async function ourSeedModel(): Promise<Uint8Array> {
  const model = await train({
    data: tinyDataset(),
    numLearners: 1,
    embSize: 8,
    embIters: 1,
    partitionerIters: 1,
    numThreads: 1,
    seed: 1,
  });
  const dir = await mkdtemp(join(tmpdir(), "annexml-fuzz-seed-"));
  try {
    const path = join(dir, "seed.annexml");
    await saveModel(model, path);
    return new Uint8Array(await readFile(path));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Query rows for a model that loaded: feature ids 0..40 (some beyond the training ones). */
export const QUERY: CsrMatrix = {
  rows: 3,
  cols: 41,
  indptr: Int32Array.of(0, 2, 3, 6),
  indices: Int32Array.of(0, 5, 40, 1, 3, 29),
  values: Float32Array.of(1, 0.5, 1, 2, 1, 0.25),
};

/**
 * Predicts {@link QUERY} with a model that loaded from (possibly mutated)
 * bytes and throws when the result is garbage: a label id that is not one
 * of the model's labels or a non-finite score.
 */
export function checkModel(model: AnnexmlModel): KnnResult {
  const out = model.predict(QUERY, { k: 5 });
  const cols = model.trainLabels.cols;
  // A model on sparse label ids predicts its original ids.
  const known = model.ids.labels ? new Set(model.ids.labels) : null;
  for (let i = 0; i < out.ids.length; i++) {
    const id = out.ids[i];
    if (id < -1 || (known ? id >= 0 && !known.has(id) : id >= cols)) {
      throw new Error(`predicted label ${id} is not a label of the model`);
    }
    if (id >= 0 && !Number.isFinite(out.scores[i])) throw new Error(`score ${out.scores[i]}`);
  }
  return out;
}

/**
 * Loads mutated model bytes through the file path users take (written to
 * `dir` as a new file per case, removed after), checking what loads.
 */
export function modelFileCase(dir: string): (bytes: Uint8Array) => Promise<CaseOutcome> {
  let n = 0;
  return async (bytes) => {
    const path = join(dir, `case-${n++}.annexml`);
    await writeFile(path, bytes);
    try {
      return await runCase(() => loadModel(path), checkModel);
    } finally {
      await rm(path, { force: true });
    }
  };
}
