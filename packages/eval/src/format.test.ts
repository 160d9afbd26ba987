import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatFixed, formatMetrics, metricsToJSON } from "./format.js";

/** Exact reference: the double as a BigInt fraction, rounded half-to-even in integers. */
function exactFixed(x: number, digits: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const negative = bits >> 63n === 1n;
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biased === 0 ? 1 : biased) - 1075; // x = mantissa * 2^exponent
  let numerator = mantissa * 10n ** BigInt(digits);
  let denominator = 1n;
  if (exponent >= 0) numerator <<= BigInt(exponent);
  else denominator <<= BigInt(-exponent);
  let q = numerator / denominator;
  const twice = 2n * (numerator - q * denominator);
  if (twice > denominator || (twice === denominator && q % 2n === 1n)) q++;
  const s = q.toString().padStart(digits + 1, "0");
  const body = digits === 0 ? s : `${s.slice(0, -digits)}.${s.slice(-digits)}`;
  return (negative ? "-" : "") + body;
}

describe("formatFixed", () => {
  // Expected strings are Python 3's "%f" % x (and "%.Nf").
  const cases: [number, number, string][] = [
    [0.0078125, 6, "0.007812"],
    [0.0234375, 6, "0.023438"],
    [-0.0078125, 6, "-0.007812"],
    [1.0000005, 6, "1.000001"], // not a tie: 1.0000005 is slightly above in binary
    [0.5, 0, "0"],
    [1.5, 0, "2"],
    [2.5, 0, "2"],
    [-2.5, 0, "-2"],
    [0.125, 2, "0.12"],
    [0.375, 2, "0.38"],
    [0.25, 1, "0.2"],
    [0.598012, 6, "0.598012"],
    [0.5980119284294234, 6, "0.598012"],
    [2 / 3, 6, "0.666667"],
    [0, 6, "0.000000"],
    [-0, 6, "-0.000000"],
    [-1e-9, 6, "-0.000000"],
    [123456789.12345679, 6, "123456789.123457"],
    [1e21, 6, "1000000000000000000000.000000"],
    [2 ** 80, 0, "1208925819614629174706176"],
    [Number.NaN, 6, "nan"],
    [Number.POSITIVE_INFINITY, 6, "inf"],
    [Number.NEGATIVE_INFINITY, 6, "-inf"],
  ];
  it.each(cases)("formats %d with %d decimals as %s", (x, digits, expected) => {
    expect(formatFixed(x, digits)).toBe(expected);
  });

  it("defaults to six decimals and rejects bad digit counts", () => {
    expect(formatFixed(0.0078125)).toBe("0.007812");
    expect(() => formatFixed(1, 101)).toThrow(
      expect.objectContaining({
        code: "BAD_OPTION",
        message: "digits must be an integer in 0..100, but is 101",
      }),
    );
    expect(() => formatFixed(1, 1.5)).toThrow(
      expect.objectContaining({ name: "AnnexmlError", code: "BAD_OPTION" }),
    );
  });

  it("agrees with exact rational rounding for random doubles and for exact ties", () => {
    const ties = fc
      .tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: -(2 ** 40), max: 2 ** 40 }))
      .map(([d, m]) => [(2 * m + 1) / 2 ** (d + 1), d] as const);
    const doubles = fc.tuple(
      fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e25, max: 1e25 }),
      fc.integer({ min: 0, max: 20 }),
    );
    fc.assert(
      fc.property(fc.oneof(ties, doubles), ([x, d]) => {
        expect(formatFixed(x, d)).toBe(exactFixed(x, d));
      }),
      { numRuns: 3000 },
    );
  });
});

describe("formatMetrics and metricsToJSON", () => {
  const ranking = {
    samples: 3,
    k: 2,
    precision: Float64Array.of(2 / 3, 0.0078125),
    ndcg: Float64Array.of(0.5, Number.NaN),
  };
  const scored = { samples: 3, k: 1, psp: Float64Array.of(0.25), psndcg: Float64Array.of(1) };

  it("prints the reference scripts' lines", () => {
    expect(formatMetrics(ranking)).toBe(
      "#samples=3\nP@1=0.666667\nP@2=0.007812\nnDCG@1=0.500000\nnDCG@2=nan\n",
    );
    expect(formatMetrics(scored)).toBe("#samples=3\nPSP@1=0.250000\nPSnDCG@1=1.000000\n");
  });

  it("gives a flat record in the same order, NaN as null", () => {
    const json = metricsToJSON(ranking);
    expect(Object.keys(json)).toEqual(["samples", "P@1", "P@2", "nDCG@1", "nDCG@2"]);
    expect(json).toEqual({
      samples: 3,
      "P@1": 2 / 3,
      "P@2": 0.0078125,
      "nDCG@1": 0.5,
      "nDCG@2": null,
    });
    expect(JSON.stringify(metricsToJSON(scored))).toBe('{"samples":3,"PSP@1":0.25,"PSnDCG@1":1}');
  });
});
