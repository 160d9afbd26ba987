import { describe, expect, it } from "vitest";
import { learnerIdsOf, parseLearners } from "./shards.js";

describe("parseLearners", () => {
  it("reads ids and ranges, ascending, and '' as every learner", () => {
    expect(parseLearners("", 4)).toEqual([0, 1, 2, 3]);
    expect(parseLearners("0-4", 15)).toEqual([0, 1, 2, 3, 4]);
    expect(parseLearners("7, 0,3-4", 15)).toEqual([0, 3, 4, 7]);
    expect(parseLearners("14", 15)).toEqual([14]);
  });

  it("refuses ids outside num_learner, repeats, empty ranges and other text", () => {
    expect(() => parseLearners("15", 15)).toThrow(/names learner 15/);
    expect(() => parseLearners("0-2000000000", 15)).toThrow(/names learner 2000000000/);
    expect(() => parseLearners("1,0-2", 15)).toThrow(/names learner 1 twice/);
    expect(() => parseLearners("3-1", 15)).toThrow(/empty range 3-1/);
    for (const spec of ["a", "1-", "-1", "1.5", ",", "0x1"])
      expect(() => parseLearners(spec, 15)).toThrow(
        /parameter 'learners' must list learner ids in \[0, 14\]/,
      );
  });

  it("names a model's learners by their ids in the run", () => {
    expect(learnerIdsOf({}, 3)).toEqual([0, 1, 2]);
    expect(learnerIdsOf({ shard: { learners: [2, 5] } }, 2)).toEqual([2, 5]);
  });
});
