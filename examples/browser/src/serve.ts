// `pnpm --filter @annexml/example-browser start [-- --model FILE --test FILE --port N]`:
// bundles the page and serves it on 127.0.0.1 with a model and a test file
// (default: the quick start's model and data/bibtex/test.txt).
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { bundlePage, PACKAGE_DIR, REPO_DIR, serveFiles, siteRoutes } from "./site.js";

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== "--"),
  options: {
    model: { type: "string", default: `${REPO_DIR}annexml-model-example.bin` },
    test: { type: "string", default: `${REPO_DIR}data/bibtex/test.txt` },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "8080" },
  },
});
// Relative paths are the caller's (pnpm runs scripts in the package directory).
const base = process.env.INIT_CWD ?? process.cwd();
const model = resolve(base, values.model);
const test = resolve(base, values.test);
for (const [what, file] of [
  ["model", model],
  ["test file", test],
] as const) {
  if (!existsSync(file)) {
    console.error(
      `no ${what} at ${file}${what === "model" ? " (train one: pnpm quickstart, or pass --model FILE)" : ""}`,
    );
    process.exit(1);
  }
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be an integer 0..65535, but is ${values.port}`);
  process.exit(1);
}
const site = `${PACKAGE_DIR}dist`;
await bundlePage(site);
const server = await serveFiles(siteRoutes(site, { "model.bin": model, "test.txt": test }), {
  host: values.host,
  port,
});
console.log(`serving ${model} and ${test} at ${server.url} (Ctrl-C stops)`);
process.on("SIGINT", () => server.close().then(() => process.exit(0)));
process.on("SIGTERM", () => server.close().then(() => process.exit(0)));
