import { packageBuild } from "../../tsup.base.js";

// Split: each command's module (imported when it runs, see cli.ts) is its own
// chunk, so a command loads only the packages it uses.
export default packageBuild(["src/index.ts", "src/bin.ts", "src/worker.ts"], { splitting: true });
