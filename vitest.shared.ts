import { defineConfig } from "vitest/config";

// Tests resolve sibling workspace packages to their TypeScript source through
// the custom `@annexml/source` export condition, so they never run a stale dist.
const conditions = ["@annexml/source", "import", "module", "node", "default"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ["src/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
