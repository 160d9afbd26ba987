import { describe, expect, it } from "vitest";
import { deriveSeed, Rng } from "./random.js";

describe("Rng", () => {
  it("is reproducible from the seed and differs between seeds", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(xs);
  });

  it("draws integers uniformly in [0, n)", () => {
    const rng = new Rng(7);
    const counts = new Int32Array(10);
    for (let i = 0; i < 100000; i++) counts[rng.nextInt(10)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500);
    for (let i = 0; i < 1000; i++) {
      const f = rng.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
    }
  });

  it("draws standard normal deviates by Box–Muller", () => {
    const rng = new Rng(3);
    const ref = new Rng(3);
    const n = 200000;
    let sum = 0;
    let sq = 0;
    let within1 = 0;
    let mismatches = 0;
    for (let i = 0; i < n; i++) {
      const g = rng.nextGaussian();
      const u = ref.nextFloat();
      if (g !== Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * ref.nextFloat())) mismatches++;
      sum += g;
      sq += g * g;
      if (Math.abs(g) < 1) within1++;
    }
    expect(mismatches).toBe(0);
    expect(Math.abs(sum / n)).toBeLessThan(0.01);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.015);
    expect(Math.abs(within1 / n - 0.6827)).toBeLessThan(0.005);
  });

  it("shuffles into a permutation", () => {
    const a = new Rng(1).shuffle(Int32Array.from({ length: 100 }, (_, i) => i));
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect([...a]).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});

describe("deriveSeed", () => {
  it("gives distinct, stable seeds per path", () => {
    const seeds = new Set<number>();
    for (let l = 0; l < 30; l++) for (let p = 0; p < 30; p++) seeds.add(deriveSeed(0, l, p));
    expect(seeds.size).toBe(900);
    expect(deriveSeed(5, 1, 2)).toBe(deriveSeed(5, 1, 2));
    expect(deriveSeed(5, 1, 2)).not.toBe(deriveSeed(5, 2, 1));
    expect(deriveSeed(5, 1)).not.toBe(deriveSeed(6, 1));
  });
});
