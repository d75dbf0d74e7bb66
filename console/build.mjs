// Builds the console into crates/console/assets (embedded in the tokenwatch binary): one
// bundled, minified script, the stylesheet, the icon and the page.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "crates", "console", "assets");
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome120", "edge120", "firefox120"],
  outfile: join(out, "app.js"),
  legalComments: "none",
  logLevel: "warning",
});
for (const file of ["index.html", "app.css", "icon.svg"]) {
  copyFileSync(join(here, "src", file), join(out, file));
}
console.log(`console: built into ${out}`);
