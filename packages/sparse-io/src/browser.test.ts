import { build } from "esbuild";
import { describe, expect, it } from "vitest";

// The "browser" export condition must reach no Node built-in: a browser
// bundler fails on `node:fs`. Bundling the entry for the browser proves it.
describe("browser entry", () => {
  it("bundles for the browser without any Node built-in", async () => {
    const entry = new URL("./browser.ts", import.meta.url).pathname;
    const out = await build({
      entryPoints: [entry],
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      logLevel: "silent",
    });
    const code = out.outputFiles[0].text;
    expect(code).not.toMatch(/from\s*["']node:/);
    expect(code).toContain("parseDataset");
  });

  it("the Node entry adds only the file helpers", async () => {
    const browser = await import("./browser.js");
    const node = await import("./index.js");
    const extra = Object.keys(node).filter((name) => !(name in browser));
    expect(extra.sort()).toEqual(
      expect.arrayContaining(["AtomicFileWriter", "readDataset", "readDatasetBatches"]),
    );
    for (const name of Object.keys(browser)) expect(name in node).toBe(true);
  });
});
