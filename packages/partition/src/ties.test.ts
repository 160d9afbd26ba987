import { describe, expect, it } from "vitest";
import { Rng } from "./test-util.js";
import { argmaxRandomTies } from "./ties.js";

describe("argmaxRandomTies", () => {
  it("returns the unique maximum without drawing a random number", () => {
    const rng = new Rng(1);
    const probe = new Rng(1);
    const ties = new Int32Array(4);
    expect(argmaxRandomTies(Float64Array.from([0.1, 0.7, -2, 0.3]), 4, ties, rng)).toBe(1);
    expect(argmaxRandomTies(Float64Array.from([-1, -3]), 2, ties, rng)).toBe(0);
    expect(rng.nextUint32()).toBe(probe.nextUint32());
  });

  it("picks uniformly among exact ties (and only among them)", () => {
    const rng = new Rng(2);
    const ties = new Int32Array(5);
    const scores = Float64Array.from([0.5, 0.9, 0.1, 0.9, 0.9]);
    const counts = [0, 0, 0, 0, 0];
    for (let t = 0; t < 30000; t++) counts[argmaxRandomTies(scores, 5, ties, rng)]++;
    expect(counts[0] + counts[2]).toBe(0);
    for (const c of [1, 3, 4]) expect(Math.abs(counts[c] - 10000)).toBeLessThan(500);
  });
});
