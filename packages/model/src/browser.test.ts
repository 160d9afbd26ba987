import { build } from "esbuild";
import { describe, expect, it } from "vitest";

// The model is browser-safe library code: bundling its entry for the
// browser must reach no Node built-in (a browser bundler fails on `node:fs`),
// with sibling packages resolved as a browser bundler does (sparse-io's
// "browser" entry).
describe("browser bundle", () => {
  it("bundles for the browser without any Node built-in, fromBytes included", async () => {
    const entry = new URL("./index.ts", import.meta.url).pathname;
    const out = await build({
      entryPoints: [entry],
      bundle: true,
      platform: "browser",
      format: "esm",
      conditions: ["@annexml/source"],
      write: false,
      logLevel: "silent",
      metafile: true,
    });
    const code = out.outputFiles[0].text;
    expect(code).not.toMatch(/from\s*["']node:/);
    expect(code).not.toMatch(/require\(\s*["']node:/);
    expect(code).toContain("fromBytes");
    // Every module in the bundle is TypeScript source of the workspace, none a Node built-in.
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs.some((path) => path.startsWith("node:"))).toBe(false);
    expect(inputs.some((path) => path.includes("sparse-io/src/browser.ts"))).toBe(true);
    expect(inputs.some((path) => path.includes("sparse-io/src/node/"))).toBe(false);
  });
});
