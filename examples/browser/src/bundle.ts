// `pnpm --filter @annexml/example-browser build`: the static page into dist/.
import { bundlePage, PACKAGE_DIR } from "./site.js";

const bytes = await bundlePage(`${PACKAGE_DIR}dist`);
console.log(`dist/index.html, dist/main.js (${(bytes / 1024).toFixed(0)} KiB)`);
