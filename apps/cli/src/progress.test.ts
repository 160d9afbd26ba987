import { describe, expect, it } from "vitest";
import { formatSeconds, Reporter, remainingSeconds } from "./progress.js";

/** A stream that keeps what is written. */
function sink() {
  const lines: string[] = [];
  return { lines, stream: { write: (s: string) => lines.push(s), isTTY: false } as never };
}

describe("remainingSeconds", () => {
  it("is elapsed / fraction x (1 - fraction)", () => {
    expect(remainingSeconds(10, 0.1)).toBeCloseTo(90, 12);
    expect(remainingSeconds(30, 0.5)).toBeCloseTo(30, 12);
    expect(remainingSeconds(90, 0.9)).toBeCloseTo(10, 12);
    expect(remainingSeconds(5, 1)).toBe(0);
  });

  it("gives no estimate before 2% of the work or 2 s with some work", () => {
    expect(remainingSeconds(1, 0)).toBeNaN();
    expect(remainingSeconds(100, 0)).toBeNaN();
    expect(remainingSeconds(1, 0.019)).toBeNaN();
    expect(remainingSeconds(1, 0.02)).toBeCloseTo(49, 12);
    expect(remainingSeconds(2, 0.001)).toBeCloseTo(1998, 9);
  });

  it("formats a missing estimate as dots", () => {
    expect(formatSeconds(Number.NaN)).toBe("...");
    expect(formatSeconds(4.25)).toBe("4.3 s");
    expect(formatSeconds(289)).toBe("4 min 49 s");
  });
});

describe("Reporter phases with a fake clock", () => {
  it("estimates from the work done, not the ticks, and tells the listener", () => {
    let ms = 0;
    const updates: [string, number, number][] = [];
    const { lines, stream } = sink();
    const reporter = new Reporter({
      verbose: 1,
      stream,
      tty: false,
      logEverySeconds: 1,
      now: () => ms,
      onUpdate: (phase, fraction, eta) => updates.push([phase, fraction, eta]),
    });
    // 4 tasks, 1000 units of work; the first task is 70% of the work.
    const phase = reporter.phase("embedding", 4, "partitions", 1000);
    ms = 500;
    phase.progress(10); // 1% after 0.5 s: no estimate yet
    ms = 7000;
    phase.progress(700);
    phase.tick();
    ms = 9000;
    phase.progress(600); // going back is ignored
    phase.progress(900);
    ms = 10_000;
    expect(phase.done()).toBe(10);
    expect(updates[0][0]).toBe("embedding");
    expect(updates[0][1]).toBeCloseTo(0.01, 12);
    expect(updates[0][2]).toBeNaN();
    expect(updates[1][1]).toBeCloseTo(0.7, 12);
    expect(updates[1][2]).toBeCloseTo(3, 9); // 7 s / 0.7 * 0.3
    // The tick re-reports the same fraction; the smaller progress is ignored.
    expect(updates[2][1]).toBeCloseTo(0.7, 12);
    expect(updates[3][1]).toBeCloseTo(0.9, 12);
    expect(updates[3][2]).toBeCloseTo(1, 9); // 9 s / 0.9 * 0.1
    expect(updates.at(-1)).toEqual(["embedding", 1, 0]);
    expect(updates).toHaveLength(5);
    expect(lines.join("")).toContain("embedding: 0/4 partitions (70%), 7.0 s elapsed, ETA 3.0 s");
    expect(lines.at(-1)).toBe("embedding: done, 1 partitions in 10.0 s\n");
  });

  it("without a work total, counts the ticks; verbose 0 still tells the listener", () => {
    let ms = 0;
    const updates: number[] = [];
    const reporter = new Reporter({
      verbose: 0,
      now: () => ms,
      onUpdate: (_p, _f, eta) => updates.push(eta),
    });
    const phase = reporter.phase("predicting", 100, "rows");
    ms = 4000;
    phase.tick(25);
    expect(updates).toEqual([12]);
    expect(phase.done()).toBe(4);
  });
});
