// Render TeX with KaTeX, strictly: reads a JSON array of {"tex", "display", "macros"?} on stdin
// (macros: KaTeX's option, {"\\name": "body"}) and prints
// a JSON array of {"index", "tex", "error"} for every formula KaTeX refuses (empty: all render).
// Used by tests/ingest/test_katex.py; KaTeX comes from node_modules (npm ci, package-lock.json).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const katex = require("katex");

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;

const items = JSON.parse(input);
const errors = [];
items.forEach((item, index) => {
  try {
    katex.renderToString(item.tex, {
      displayMode: Boolean(item.display),
      throwOnError: true,
      strict: "ignore",
      trust: false,
      macros: item.macros ? { ...item.macros } : {},
    });
  } catch (err) {
    errors.push({ index, tex: item.tex, error: String(err && err.message ? err.message : err) });
  }
});
process.stdout.write(JSON.stringify(errors));
