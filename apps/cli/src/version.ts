import pkg from "../package.json" with { type: "json" };

/** Version of the @annexml/cli package. */
export const VERSION: string = pkg.version;
