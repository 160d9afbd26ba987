import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { log, pow } from "./libm.js";

// Correctly rounded values from Python's decimal module (70 digits), among
// them near-halfway cases that glibc and V8 both get wrong.
const table = readFileSync(
  new URL("../fixtures/libm/correctly-rounded.txt", import.meta.url),
  "utf8",
)
  .split("\n")
  .filter((line) => line !== "" && !line.startsWith("#"))
  .map((line) => line.split(" "));

describe("log and pow", () => {
  it("has a table to check against", () => {
    expect(table.length).toBeGreaterThan(900);
  });

  it("are correctly rounded on every table entry", () => {
    const wrong: string[] = [];
    for (const [fn, a, b, c] of table) {
      const got =
        fn === "log"
          ? log(Number(a))
          : fn === "pow"
            ? pow(Number(a), Number(b))
            : 1 / (log(Number(a)) / log(2));
      const want = Number(fn === "log" || fn === "dcg" ? b : c);
      if (got !== want) wrong.push(`${fn} ${a} ${fn === "pow" ? b : ""}: ${got} != ${want}`);
    }
    expect(wrong).toEqual([]);
  });

  it("gives the DCG weight of rank 2 that CPython gives (V8's Math.log(3) is one ulp low)", () => {
    expect(1 / (log(3) / log(2))).toBe(0.6309297535714574);
  });

  it("handles the special cases like Math.log and Math.pow", () => {
    expect(log(1)).toBe(0);
    expect(log(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(log(-1)).toBeNaN();
    expect(log(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(pow(7.5, 0)).toBe(1);
    expect(pow(1, 123.4)).toBe(1);
    expect(pow(7.5, 1)).toBe(7.5);
    expect(pow(4, 0.5)).toBe(2);
    expect(pow(-8, 1 / 3)).toBeNaN();
    expect(pow(0, -0.5)).toBe(Number.POSITIVE_INFINITY);
    expect(pow(10, 400)).toBe(Number.POSITIVE_INFINITY);
  });
});
