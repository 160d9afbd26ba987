// Label names: stored at training (label_names=FILE), shown by `annexml
// info`, returned by the predictor and written by `result_format=jsonl`.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnnexmlModel } from "@annexml/model";
import { parseDataset } from "@annexml/sparse-io";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { train } from "./api.js";
import { readModelFile, saveModel } from "./model/files.js";
import { readLabelNamesFile } from "./model/label-names-file.js";
import { runCli as annexml, ROOT } from "./testing.js";

const TRAIN = join(ROOT, "data/bibtex/train.txt");
const TEST = join(ROOT, "data/bibtex/test.txt");
const LABELS = 159;
/** A name per bibtex label, some non-ASCII, one with a comma and a colon. */
const NAMES = Array.from({ length: LABELS }, (_, i) =>
  i === 7 ? "físico, química: 7" : i % 5 === 0 ? `ラベル ${i}` : `label-${i}`,
);

let dir: string;
let model: AnnexmlModel;
let modelFile: string;
let namesFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "annexml-names-"));
  namesFile = join(dir, "names.txt");
  // CRLF line ends and a BOM are accepted.
  await writeFile(namesFile, `\ufeff${NAMES.join("\r\n")}\r\n`);
  model = await train({
    trainFile: TRAIN,
    labelNamesFile: namesFile,
    numLearners: 2,
    embIters: 2,
    clusterSize: 100000,
  });
  modelFile = join(dir, "named.model");
  await saveModel(model, modelFile);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("label names", () => {
  it("are stored in the model and come back from the file, by label id", async () => {
    const back = (await readModelFile(modelFile)).model;
    expect(back.labelNames?.count).toBe(LABELS);
    for (const i of [0, 1, 7, 10, 158]) expect(back.labelName(i)).toBe(NAMES[i]);
    expect(back.labelName(LABELS)).toBeUndefined();
    // The same bytes in as out.
    expect(AnnexmlModel.fromBytes(back.toBytes()).labelName(7)).toBe(NAMES[7]);
  });

  it("are returned by predictRow beside the ids, and do not change the predictions", async () => {
    const plain = await train({
      trainFile: TRAIN,
      numLearners: 2,
      embIters: 2,
      clusterSize: 100000,
    });
    const test = parseDataset(await readFile(TEST), { source: TEST });
    const named = model.predictor({ k: 5 });
    const unnamed = plain.predictor({ k: 5 });
    const { indptr, indices, values } = test.features;
    for (let r = 0; r < 50; r++) {
      const i = indices.subarray(indptr[r], indptr[r + 1]);
      const v = values.subarray(indptr[r], indptr[r + 1]);
      const a = named.predictRow(i, v, 5);
      const b = unnamed.predictRow(i, v, 5);
      expect(a.labels).toEqual(b.labels);
      expect(a.scores).toEqual(b.scores);
      expect(b.names).toBeUndefined();
      expect(a.names).toEqual(Array.from(a.labels, (l) => NAMES[l]));
    }
  });

  it("are shown by annexml info", async () => {
    const text = await annexml(["info", modelFile]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      `label names: ${LABELS} (0 "ラベル 0", 1 "label-1", 2 "label-2", ...)`,
    );
    const json = JSON.parse((await annexml(["info", modelFile, "--json"])).stdout);
    expect(json.labelNames.count).toBe(LABELS);
    expect(json.labelNames.first[1]).toEqual({ label: 1, name: "label-1" });
  });

  it("are written by result_format=jsonl; the original format is unchanged", async () => {
    const original = join(dir, "original.txt");
    const jsonl = join(dir, "result.jsonl");
    const base = ["predict", join(ROOT, "annexml-example.json"), `model_file=${modelFile}`];
    expect((await annexml([...base, `result_file=${original}`])).code).toBe(0);
    expect((await annexml([...base, `result_file=${jsonl}`, "result_format=jsonl"])).code).toBe(0);
    const lines = (await readFile(original, "utf8")).trimEnd().split("\n");
    const rows = (await readFile(jsonl, "utf8"))
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows.length).toBe(lines.length);
    for (const [r, line] of lines.entries()) {
      const [truth, predictions] = line.split("\t");
      expect(rows[r].truth.join(",")).toBe(truth);
      const pairs = predictions.split(",").map((p) => p.split(":"));
      expect(rows[r].labels).toEqual(pairs.map(([l]) => Number(l)));
      expect(rows[r].scores).toEqual(pairs.map(([, s]) => Number(s)));
      expect(rows[r].names).toEqual(rows[r].labels.map((l: number) => NAMES[l]));
    }
  });

  it("refuse a file of another length, naming both counts", async () => {
    const short = join(dir, "short.txt");
    await writeFile(short, `${NAMES.slice(0, 150).join("\n")}\n`);
    const run = await annexml([
      "train",
      join(ROOT, "annexml-example.json"),
      `label_names=${short}`,
      `model_file=${join(dir, "never.model")}`,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("has 150 names but the training data has 159 labels");
    expect(run.stderr).toContain(short);
  });

  it("refuse an empty name, a control character or invalid UTF-8, naming the line", async () => {
    const bad = join(dir, "bad.txt");
    const cases: [Uint8Array | string, RegExp][] = [
      [`a\nb\n\nd\n`, /bad\.txt:3: .*the name is empty/],
      [`a\nb\tc\nd\n`, /bad\.txt:2: .*control character U\+0009 at column 2/],
      [Uint8Array.of(0x61, 0x0a, 0xff, 0x0a), /bad\.txt:2: .*not valid UTF-8/],
    ];
    for (const [content, message] of cases) {
      await writeFile(bad, content);
      const error = await readLabelNamesFile(bad, 4, null).catch((e: Error) => e);
      expect(error).toMatchObject({ code: "BAD_INPUT" });
      expect(String((error as Error).message)).toMatch(message);
    }
  });

  it("keep only the used labels of sparse label ids", async () => {
    const names = join(dir, "sparse-names.txt");
    await writeFile(names, "zero\none\ntwo\nthree\nfour\n");
    const kept = await readLabelNamesFile(names, 5, Int32Array.of(1, 4));
    expect(kept.count).toBe(2);
    expect([kept.name(0), kept.name(1)]).toEqual(["one", "four"]);
  });
});
