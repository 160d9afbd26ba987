import { createRequire } from "node:module";
import pkg from "../package.json" with { type: "json" };

/** Version of the @annexml/cli package. */
export const VERSION: string = pkg.version;

const require = createRequire(import.meta.url);

/** Versions of the AnnexML packages in use (recorded in every model). */
export function packageVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["cli", "model", "sparse-io", "knng", "partition", "embed", "ann-search"]) {
    try {
      out[`@annexml/${name}`] = (
        require(`@annexml/${name}/package.json`) as { version: string }
      ).version;
    } catch {
      out[`@annexml/${name}`] = "unknown";
    }
  }
  return out;
}
