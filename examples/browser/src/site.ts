// The example site: bundling the page (esbuild, for the browser) and a tiny
// static server of named files on loopback. Used by `build`, `start` and
// the headless-Chromium test.
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/** This package's directory. */
export const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
/** The repository root (for `data/` and the quick start's model). */
export const REPO_DIR = fileURLToPath(new URL("../../..", import.meta.url));

/**
 * Writes the static page into `outDir`: `index.html` and `main.js`, the
 * page's script bundled with every dependency for the browser (ESM, no
 * Node built-in reachable). Sibling packages are bundled from their
 * TypeScript sources (the `@annexml/source` condition), never a stale dist.
 * Returns the bundle's size in bytes.
 */
export async function bundlePage(outDir: string): Promise<number> {
  await mkdir(outDir, { recursive: true });
  const outfile = `${outDir}/main.js`;
  await build({
    entryPoints: [new URL("./main.ts", import.meta.url).pathname],
    outfile,
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    conditions: ["@annexml/source"],
    sourcemap: true,
    logLevel: "warning",
  });
  await copyFile(new URL("./index.html", import.meta.url), `${outDir}/index.html`);
  return (await stat(outfile)).size;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

/** A running static server: its base URL (ends with `/`) and how to stop it. */
export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves exactly the files of `routes` (URL path, e.g. `/model.bin`, to a
 * file path; `/` serves `/index.html`'s file) with GET on `host` (default
 * 127.0.0.1) and `port` (default 0: any free one). Anything else is 404;
 * nothing outside `routes` is reachable.
 */
export async function serveFiles(
  routes: Record<string, string>,
  options: { host?: string; port?: number } = {},
): Promise<StaticServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const file = routes[path === "/" ? "/index.html" : path];
    if (req.method !== "GET" || file === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    readFile(file).then(
      (body) => {
        const type = TYPES[extname(file)] ?? "application/octet-stream";
        res.writeHead(200, { "content-type": type, "cache-control": "no-store" }).end(body);
      },
      () => res.writeHead(404, { "content-type": "text/plain" }).end("not found\n"),
    );
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The files of the site in `siteDir` (from {@link bundlePage}) plus the page's inputs. */
export function siteRoutes(
  siteDir: string,
  inputs: Record<string, string> = {},
): Record<string, string> {
  const routes: Record<string, string> = {
    "/index.html": `${siteDir}/index.html`,
    "/main.js": `${siteDir}/main.js`,
    "/main.js.map": `${siteDir}/main.js.map`,
  };
  for (const [name, file] of Object.entries(inputs)) routes[`/${name}`] = file;
  return routes;
}

/**
 * A Chromium or Chrome binary: `CHROMIUM_PATH` when set, else the first of
 * the usual Debian / Ubuntu / Google paths that exists, else null.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = [
    env.CHROMIUM_PATH,
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
  ];
  for (const candidate of candidates) if (candidate && existsSync(candidate)) return candidate;
  return null;
}
