import { readdirSync } from "node:fs";
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

  it("the Node entry is exactly the browser entry plus the file helpers of src/node/", async () => {
    const browser: Record<string, unknown> = await import("./browser.js");
    const node: Record<string, unknown> = await import("./index.js");
    // Every value exported by a module under src/node/ (the Node-only helpers).
    const dir = new URL("./node/", import.meta.url);
    const helpers = new Set<unknown>();
    for (const file of readdirSync(dir)) {
      if (!file.endsWith(".ts") || file.endsWith(".test.ts")) continue;
      const mod: Record<string, unknown> = await import(new URL(file, dir).href);
      for (const value of Object.values(mod)) helpers.add(value);
    }
    const nodeNames = Object.keys(node).sort();
    const nodeOnly = nodeNames.filter((name) => helpers.has(node[name]) && !(name in browser));
    expect(nodeOnly).toEqual(expect.arrayContaining(["readDataset", "readDatasetBatches"]));
    // The browser entry exports exactly the rest, the same bindings.
    const shared = nodeNames.filter((name) => !nodeOnly.includes(name));
    expect(Object.keys(browser).sort()).toEqual(shared);
    for (const name of shared) expect(browser[name]).toBe(node[name]);
  });
});
