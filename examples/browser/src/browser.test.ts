import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { saveModel, train } from "@annexml/cli";
import { AnnexmlModel, labelNamesFromList } from "@annexml/model";
import { AnnexmlError, type KnnResult, parseDataset } from "@annexml/sparse-io";
import { type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatScore } from "./format.js";
import type { PageResult } from "./main.js";
import {
  bundlePage,
  findChromium,
  REPO_DIR,
  type StaticServer,
  serveFiles,
  siteRoutes,
} from "./site.js";

const TEST_FILE = join(REPO_DIR, "data/bibtex/test.txt");
const K = 5;
const SHOWN = 10;

const chromiumPath = findChromium();
const requireBrowser = process.env.ANNEXML_REQUIRE_BROWSER === "1";
const NO_BROWSER =
  "no Chromium binary found (CHROMIUM_PATH, /usr/bin/chromium, /usr/bin/chromium-browser, " +
  "/usr/bin/google-chrome): the headless-browser test is SKIPPED. Install one " +
  "(Debian: apt-get install chromium) or set CHROMIUM_PATH; ANNEXML_REQUIRE_BROWSER=1 makes this a failure.";

describe("findChromium", () => {
  it("takes CHROMIUM_PATH when that file exists, and ignores it when it does not", async () => {
    const dir = await mkdtemp(join(tmpdir(), "annexml-chromium-"));
    try {
      const fake = join(dir, "my-chromium");
      await writeFile(fake, "#!/bin/sh\n");
      await chmod(fake, 0o755);
      expect(findChromium({ CHROMIUM_PATH: fake })).toBe(fake);
      const fallback = findChromium({ CHROMIUM_PATH: join(dir, "missing") });
      expect(fallback).not.toBe(join(dir, "missing"));
      expect(fallback).toBe(findChromium({}));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

if (!chromiumPath) {
  if (requireBrowser) {
    it("finds a Chromium binary (ANNEXML_REQUIRE_BROWSER=1)", () => {
      throw new Error(
        NO_BROWSER.replace("is SKIPPED", "cannot run (ANNEXML_REQUIRE_BROWSER=1 is set)"),
      );
    });
  } else {
    console.warn(`examples/browser: ${NO_BROWSER}`);
  }
}

/** The page's result once it has published one (`window.__annexml`), typed arrays as bytes. */
type Published =
  | (Omit<Extract<PageResult, { status: "done" }>, "ids" | "scores"> & {
      ids: number[];
      scores: number[];
    })
  | Extract<PageResult, { status: "error" }>;

describe.skipIf(!chromiumPath)("the example page in headless Chromium", () => {
  let dir: string;
  let server: StaticServer;
  let context: BrowserContext;
  /** The model as Node reads the same bytes, and its predictions of the test rows. */
  let node: AnnexmlModel;
  let expected: KnnResult;
  let badMessage: string;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "annexml-browser-"));
    let t = performance.now();
    const trained = await train({
      trainFile: join(REPO_DIR, "data/bibtex/train.txt"),
      numLearners: 3,
      embIters: 3,
      numThreads: 1,
      seed: 1,
    });
    // Label names (by dense label id), so the page's names column is exercised.
    const original = trained.ids.labels;
    const names = Array.from(
      { length: trained.trainLabels.cols },
      (_, d) => `tag${original ? original[d] : d}`,
    );
    const named = new AnnexmlModel(
      trained.info,
      trained.trainLabels,
      trained.learners,
      trained.ids,
      labelNamesFromList(names),
    );
    const modelFile = join(dir, "model.bin");
    await saveModel(named, modelFile);
    timings.train = performance.now() - t;

    const bytes = new Uint8Array(await readFile(modelFile));
    timings.modelKiB = bytes.length / 1024;
    const bad = bytes.slice();
    bad[bad.length >> 1] ^= 0x10; // one flipped bit, inside a section
    await writeFile(join(dir, "bad.bin"), bad);
    try {
      AnnexmlModel.fromBytes(bad, { source: "bad.bin" });
      throw new Error("the corrupted model loaded");
    } catch (error) {
      expect(error).toBeInstanceOf(AnnexmlError);
      expect((error as AnnexmlError).code).toBe("BAD_FORMAT");
      badMessage = (error as Error).message;
    }

    t = performance.now();
    node = AnnexmlModel.fromBytes(bytes, { source: "model.bin" });
    const test = parseDataset(new Uint8Array(await readFile(TEST_FILE)), { source: "test.txt" });
    expected = node.predict(test.features, { k: K });
    timings.nodePredict = performance.now() - t;

    t = performance.now();
    const site = join(dir, "site");
    await bundlePage(site);
    server = await serveFiles(
      siteRoutes(site, {
        "model.bin": modelFile,
        "bad.bin": join(dir, "bad.bin"),
        "test.txt": TEST_FILE,
      }),
    );
    context = await chromium.launchPersistentContext(join(dir, "profile"), {
      executablePath: chromiumPath!,
      headless: true,
      chromiumSandbox: false,
      // CI runs as root: Chromium's sandbox needs --no-sandbox there.
      args: ["--headless=new", "--no-sandbox"],
    });
    timings.bundleAndLaunch = performance.now() - t;
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    console.log(
      `examples/browser timings (ms), model size (KiB): ${JSON.stringify(timings, (_, v) => (typeof v === "number" ? Math.round(v) : v))}`,
    );
  });

  /** Opens the page with `query`, waits for its result; page errors are collected. */
  async function open(query: string) {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${server.url}?${query}`);
    await page.waitForFunction(() => window.__annexml !== undefined, null, { timeout: 120_000 });
    const result = await page.evaluate((): Published => {
      const r = window.__annexml!;
      if (r.status !== "done") return r;
      const bytes = (a: Int32Array | Float32Array) =>
        Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      return { ...r, ids: bytes(r.ids), scores: bytes(r.scores) };
    });
    return { page, errors, result };
  }

  it("predicts every test row exactly as Node does (ids and score bits), and shows the top labels", async () => {
    const t = performance.now();
    const { page, errors, result } = await open(
      `model=model.bin&test=test.txt&k=${K}&rows=${SHOWN}`,
    );
    timings.browserPage = performance.now() - t;
    expect(errors).toEqual([]);
    expect(result.status).toBe("done");
    if (result.status !== "done") return;
    timings.browserPredict = result.timings.predict;
    expect(result.rows).toBe(expected.rows);
    expect(result.rows).toBe(2515);
    expect(result.k).toBe(K);
    const ids = new Int32Array(new Uint8Array(result.ids).buffer);
    const scoreBits = new Uint32Array(new Uint8Array(result.scores).buffer);
    expect(ids).toEqual(expected.ids);
    expect(scoreBits).toEqual(new Uint32Array(expected.scores.buffer));
    // Real predictions, not padding: every row got labels (-1 pads a row that got fewer than k).
    for (let r = 0; r < expected.rows; r++) expect(expected.ids[r * K]).toBeGreaterThanOrEqual(0);

    // predictRow of the first rows: the batch's labels, scores and names.
    expect(result.single).toHaveLength(SHOWN);
    result.single.forEach((row, r) => {
      const batch = Array.from(expected.ids.subarray(r * K, (r + 1) * K));
      const found = batch.includes(-1) ? batch.indexOf(-1) : K;
      expect(row.labels).toEqual(batch.slice(0, found));
      expect(row.scores).toEqual(Array.from(expected.scores.subarray(r * K, r * K + found)));
      expect(row.names).toEqual(row.labels.map((label) => `tag${label}`));
    });

    // The table: one line per shown row, its predicted labels with names and scores.
    const lines = page.locator("#top tbody tr");
    await expect.poll(() => lines.count()).toBe(SHOWN);
    const first = await lines.nth(0).locator("td").allTextContents();
    expect(first[0]).toBe("0");
    const row0 = result.single[0];
    expect(first[2]).toBe(
      row0.labels.map((l, i) => `${l} tag${l} (${formatScore(row0.scores[i])})`).join(", "),
    );
    expect(first[1]).toMatch(/^\d+ tag\d+(, \d+ tag\d+)*$/);
    expect(await page.locator("#status").textContent()).toContain(
      "3 learners, 2515 rows predicted",
    );
    await page.close();
  });

  it("shows a corrupted model's BAD_FORMAT error in the page instead of crashing", async () => {
    const { page, errors, result } = await open("model=bad.bin&test=test.txt");
    expect(errors).toEqual([]);
    expect(result).toEqual({ status: "error", code: "BAD_FORMAT", message: badMessage });
    expect(badMessage).toMatch(/^bad\.bin: .*corrupted/);
    const shown = page.locator("#error");
    expect(await shown.isVisible()).toBe(true);
    expect(await shown.textContent()).toBe(`BAD_FORMAT: ${badMessage}`);
    expect(await page.locator("#top").isVisible()).toBe(false);
    await page.close();
  });
});
