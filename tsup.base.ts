import { defineConfig, type Options } from "tsup";

/**
 * Shared build of every package: ESM only, declarations, sourcemaps.
 * Declarations are built against `tsconfig.build.json`, which drops the
 * `@annexml/source` condition so sibling packages stay external imports of
 * their published `dist` instead of being inlined from source.
 */
export function packageBuild(entry: Options["entry"], extra: Options = {}) {
  return defineConfig({
    entry,
    format: ["esm"],
    target: "node20",
    dts: { compilerOptions: { customConditions: [] } },
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    ...extra,
  });
}
