/*
 * fs.globSync for Node < 22, loaded with NODE_OPTIONS=--require <this file>.
 *
 * Why: @modelcontextprotocol/conformance (pinned in package.json) is built for Node >= 22 and
 * imports `globSync` from "fs" (its tier-check reads `**\/checks.json` with it). Node 20 has no
 * fs.globSync, so the ESM import fails at link time before any scenario runs. We do not edit the
 * package; this preload supplies the function instead, in two steps:
 *   1. it adds fs.globSync to the CommonJS `fs` (only if missing: on Node >= 22 it does nothing);
 *   2. the ESM view of a builtin has its export *names* fixed at start-up, so adding a property
 *      is not enough for `import { globSync } from "fs"`. A resolve hook (module.register, Node
 *      >= 20.6) therefore sends `fs` / `node:fs` imports from ESM files to a tiny facade module
 *      that re-exports node:fs plus globSync.
 *
 * The glob is a minimal, correct subset of fs.globSync(pattern | patterns, { cwd, exclude }):
 * `**` (any number of directories), `*` and `?` (within one path segment, not matching a leading
 * dot, like Node), and `[...]` classes. Anything else that is glob syntax (braces, extglobs)
 * throws instead of silently matching wrongly. Results are paths relative to cwd, as in Node.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const nodeModule = require('node:module');

function segmentRegex(segment) {
  if (/[{}]|[@!+]\(/.test(segment)) {
    throw new Error(`fs.globSync shim: unsupported glob syntax in segment ${JSON.stringify(segment)}`);
  }
  let out = segment.startsWith('.') ? '' : '(?!\\.)';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else if (ch === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) { out += '\\['; continue; }
      let body = segment.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (body.startsWith('!')) body = '^' + body.slice(1);
      out += `[${body}]`;
      i = end;
    } else out += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

function listDir(dir) {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function walk(root, rel, parts, found) {
  if (parts.length === 0) {
    found.add(rel);
    return;
  }
  const [head, ...rest] = parts;
  const abs = rel === '' ? root : path.join(root, rel);
  if (head === '**') {
    walk(root, rel, rest, found); // zero directories
    for (const entry of listDir(abs)) {
      if (entry.isDirectory() && !entry.name.startsWith('.')) {
        walk(root, rel === '' ? entry.name : path.join(rel, entry.name), parts, found);
      }
    }
    return;
  }
  const re = segmentRegex(head);
  for (const entry of listDir(abs)) {
    if (!re.test(entry.name)) continue;
    if (rest.length > 0 && !entry.isDirectory()) continue;
    walk(root, rel === '' ? entry.name : path.join(rel, entry.name), rest, found);
  }
}

function globSync(pattern, options = {}) {
  const cwd = options.cwd === undefined ? process.cwd() : String(options.cwd);
  const patterns = Array.isArray(pattern) ? pattern : [pattern];
  const found = new Set();
  for (const p of patterns) {
    const absolute = path.isAbsolute(p);
    const parts = p.split('/').filter((s, i) => s !== '' || i === 0).filter((s) => s !== '');
    walk(absolute ? path.parse(p).root : cwd, '', parts, found);
  }
  let results = [...found].filter((r) => r !== '');
  if (typeof options.exclude === 'function') results = results.filter((r) => !options.exclude(r));
  return results;
}

if (typeof fs.globSync !== 'function') {
  fs.globSync = globSync;
  const facade =
    'import fs from "node:fs"; export * from "node:fs"; export default fs; ' +
    'export const globSync = fs.globSync;';
  const facadeUrl = `data:text/javascript,${encodeURIComponent(facade)}`;
  const hooks =
    `export async function resolve(specifier, context, next) {` +
    `  if ((specifier === "fs" || specifier === "node:fs") && context.parentURL &&` +
    `      !context.parentURL.startsWith("data:")) {` +
    `    return { url: ${JSON.stringify(facadeUrl)}, shortCircuit: true };` +
    `  }` +
    `  return next(specifier, context);` +
    `}`;
  nodeModule.register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}

module.exports = { globSync };
