import { join } from "node:path";
import { trainingOptionsOf } from "@annexml/model";
import { compactColumns, normalizeRows, readDataset } from "@annexml/sparse-io";
import { describe, expect, it } from "vitest";
import { defaultParams } from "../config.js";
import { Reporter } from "../progress.js";
import { ROOT } from "../testing.js";
import { partitionTask, partTask, type TrainingData, type TrainSettings } from "./tasks.js";
import { trainModel } from "./trainer.js";
import { embedWork, indexWork, ProgressBoard, partitionWork } from "./work.js";

const TRAIN = join(ROOT, "data/bibtex/train.txt");

async function setup(): Promise<{ data: TrainingData; settings: TrainSettings }> {
  const d = await readDataset(TRAIN);
  const features = compactColumns(d.features, { inPlace: true }).matrix;
  const labels = compactColumns(d.labels, { inPlace: true }).matrix;
  normalizeRows(features);
  const params = { ...defaultParams(), cls_iter: 2, emb_iter: 2, cluster_size: 1500 };
  const settings = { ...trainingOptionsOf(params), numPartitions: 3, diagnostic: false };
  return { data: { features, labels }, settings };
}

/** Fractions reported: never decreasing, the last exactly 1. */
function expectMonotoneToOne(fractions: number[]) {
  expect(fractions.length).toBeGreaterThan(2);
  for (let i = 1; i < fractions.length; i++) {
    expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1]);
  }
  expect(fractions.at(-1)).toBe(1);
}

describe("task progress", () => {
  it("partitioner and embedding tasks report monotone fractions reaching exactly 1, same results", async () => {
    const { data, settings } = await setup();
    const seen: number[] = [];
    const a = partitionTask(data, settings, 0, (f) => seen.push(f));
    expectMonotoneToOne(seen);
    // The setup (the positives graph) is done before the first epoch report.
    const w = partitionWork(data, settings);
    expect(seen[0]).toBeCloseTo(w.setup / (w.setup + w.epochs), 12);
    expect(a).toEqual(partitionTask(data, settings, 0));

    const rows = Int32Array.from({ length: 1500 }, (_, i) => 3 * i);
    const embedded: number[] = [];
    const e = partTask(data, settings, 0, 1, rows, (f) => embedded.push(f));
    expectMonotoneToOne(embedded);
    expect(e).toEqual(partTask(data, settings, 0, 1, rows));
    expect(embedWork(data, settings, rows, false).setup).toBeGreaterThan(0);
    expect(embedWork(data, settings, rows, true).setup).toBe(0);
    expect(indexWork(1, settings)).toBe(0);
  });

  it("the board keeps the largest fraction per slot and sums weighted slots", () => {
    const board = new ProgressBoard(3, true);
    expect(board.slots.buffer).toBeInstanceOf(SharedArrayBuffer);
    board.reporter(1)(0.5);
    board.reporter(1)(0.25);
    board.reporter(2)(2);
    board.reporter(7)(1); // no such slot: ignored
    expect(board.done(new Float64Array([10, 4]), 1)).toBe(10 * 0.5 + 4 * 1);
    expect(board.done(new Float64Array([4, 10]), 1)).toBe(2 + 10);
  });

  for (const threads of [1, 2]) {
    it(`training with ${threads} thread(s): every phase's work is monotone and reaches exactly its total`, async () => {
      const updates = new Map<string, [number, number][]>();
      const reporter = new Reporter({
        verbose: 0,
        onUpdate: (phase, fraction, eta) => {
          if (!updates.has(phase)) updates.set(phase, []);
          updates.get(phase)?.push([fraction, eta]);
        },
      });
      const params = {
        ...defaultParams(),
        train_file: TRAIN,
        num_learner: 2,
        cls_iter: 2,
        emb_iter: 2,
        cluster_size: 1500,
        num_thread: threads,
        verbose: 0,
      };
      await trainModel(params, reporter);
      expect([...updates.keys()]).toEqual(["partitioning", "embedding"]);
      for (const list of updates.values()) {
        const fractions = list.map(([f]) => f);
        expectMonotoneToOne(fractions);
        // The last reading of the tasks is the whole work (fraction 1 before the end call).
        expect(list.at(-2)?.[0]).toBe(1);
        expect(list.at(-1)).toEqual([1, 0]);
      }
    });
  }
});
