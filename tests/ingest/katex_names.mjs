// The control words KaTeX knows: every "\\name" string in KaTeX's own source that KaTeX renders
// (alone, or with one to four arguments) without "Undefined control sequence". Prints one name a
// line. server/ingest/mathfix/katex_names.py is this list; tests/ingest/test_dollars.py checks it.
import { createRequire } from "node:module";
import fs from "node:fs";

const require = createRequire(import.meta.url);
const katex = require("katex");
const src = fs.readFileSync(require.resolve("katex/dist/katex.js"), "utf8");
const candidates = new Set();
for (const m of src.matchAll(/"\\\\([A-Za-z]+)"/g)) candidates.add(m[1]);
console.warn = () => {}; // KaTeX warns about glyphs it lacks metrics for
console.log = () => {}; // and \\show prints its token
const known = [];
for (const name of [...candidates].sort()) {
  for (const tail of ["", "{a}", "{a}{b}", "{a}{b}{c}", "{a}{b}{c}{d}", " a", "[a]{b}", "{}"]) {
    try {
      katex.renderToString("\\" + name + tail, { throwOnError: true, strict: "ignore" });
      known.push(name);
      break;
    } catch (err) {
      if (!String(err && err.message).includes("Undefined control sequence")) {
        known.push(name);
        break;
      }
    }
  }
}
process.stdout.write(known.join("\n") + "\n");
