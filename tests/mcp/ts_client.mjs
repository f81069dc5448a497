// The official TypeScript SDK client (@modelcontextprotocol/sdk 1.x, pinned in package.json)
// against notes-kb, as a new user would drive it. Driven by tests/mcp/test_ts_client.py, which
// checks what this prints against the build and the live server card.
//
//   node ts_client.mjs PLAN.json
//
// PLAN: {"transport": "http", "url": "http://127.0.0.1:PORT/mcp"}
//    or {"transport": "stdio", "command": "...", "args": [...], "env": {...}},
// plus "section" (a section of the build, for slug completion), "progress_args" (a solver call
// that runs long enough to report progress), "long_args" (a list of solver calls that would run
// for many seconds: each is aborted after its first progress notification), "short_args" (a
// quick heavy call timed after the aborts), "examples" (tool calls: {"name", "arguments"}) and
// "timeout_ms".
// It prints one JSON object on stdout: what the server answered, and the timings it measured.
// Nothing is judged here; the pytest side asserts.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const POSTS = "notes://posts/{section}/{slug}{?page}";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = {};

// "sdk": "v1" (default) is @modelcontextprotocol/sdk 1.x (the 2025-11-25 handshake); "v2" is
// @modelcontextprotocol/client 2.x (the 2026-07-28 protocol, stateless, with listen()).
const V2 = plan.sdk === "v2";
const { Client, StdioClientTransport, StreamableHTTPClientTransport } = V2
  ? {
      ...(await import("@modelcontextprotocol/client")),
      ...(await import("@modelcontextprotocol/client/stdio")),
    }
  : {
      ...(await import("@modelcontextprotocol/sdk/client/index.js")),
      ...(await import("@modelcontextprotocol/sdk/client/stdio.js")),
      ...(await import("@modelcontextprotocol/sdk/client/streamableHttp.js")),
    };
// callTool(params, options) in 2.x; callTool(params, resultSchema, options) in 1.x
const callTool = (client, params, options) =>
  V2 ? client.callTool(params, options) : client.callTool(params, undefined, options);

function transportFor(p) {
  if (p.transport === "http") {
    return new StreamableHTTPClientTransport(new URL(p.url));
  }
  return new StdioClientTransport({
    command: p.command,
    args: p.args,
    env: p.env,
    stderr: "ignore",
  });
}

async function listAll(method, key) {
  const items = [];
  let cursor;
  do {
    const page = await method(cursor === undefined ? {} : { cursor });
    items.push(...page[key]);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

// 2.x negotiates the 2026-07-28 era only when asked ("auto": server/discover first); its
// default, like 1.x, is the 2025-11-25 handshake
const client = new Client(
  { name: "notes-kb-ts-test", version: "0.0.0" },
  V2 ? { versionNegotiation: { mode: plan.negotiation ?? "auto" } } : undefined,
);
const transport = transportFor(plan);
// 1.x keeps the negotiated version only in its HTTP transport: the client hands it to any
// transport that takes it (setProtocolVersion), so it is caught there for stdio too
let negotiated = null;
const setVersion = transport.setProtocolVersion?.bind(transport);
transport.setProtocolVersion = (version) => {
  negotiated = version;
  setVersion?.(version);
};
await client.connect(transport);

if (plan.listen) {
  // 2.x only: subscriptions/listen (2026-07-28). Prints "listening" once the server has
  // acknowledged, then the first plan.listen.count change notifications, in order.
  const events = [];
  let enough;
  const done = new Promise((resolve) => (enough = resolve));
  const record = (n) => {
    events.push({ method: n.method, params: n.params ?? {} });
    if (events.length >= plan.listen.count) enough();
  };
  client.setNotificationHandler("notifications/resources/list_changed", record);
  client.setNotificationHandler("notifications/resources/updated", record);
  const sub = await client.listen(plan.listen.filter);
  process.stdout.write(JSON.stringify({ listening: sub.honoredFilter }) + "\n");
  const timer = setTimeout(enough, plan.timeout_ms);
  await done;
  clearTimeout(timer);
  await sub.close();
  out.events = events;
  out.closed = await sub.closed;
  await client.close();
  process.stdout.write(JSON.stringify(out) + "\n");
  process.exit(0);
}

try {
  out.protocolVersion = V2 ? client.getNegotiatedProtocolVersion() ?? null : negotiated;
  out.serverVersion = client.getServerVersion();
  out.capabilities = client.getServerCapabilities();
  out.instructions = client.getInstructions() ?? null;

  const tools = await listAll((p) => client.listTools(p), "tools");
  const resources = await listAll((p) => client.listResources(p), "resources");
  const templates = await listAll(
    (p) => client.listResourceTemplates(p),
    "resourceTemplates",
  );
  const prompts = await listAll((p) => client.listPrompts(p), "prompts");
  out.tools = tools.map((t) => t.name);
  out.toolsWithOutputSchema = tools.filter((t) => t.outputSchema).map((t) => t.name);
  out.resources = resources.map((r) => r.uri);
  out.resourceTemplates = templates.map((t) => t.uriTemplate);
  out.prompts = prompts.map((p) => p.name);

  // completions of a resource-template variable: sections, then slugs given a section
  const ref = { type: "ref/resource", uri: POSTS };
  const sections = await client.complete({ ref, argument: { name: "section", value: "" } });
  const slugs = await client.complete({
    ref,
    argument: { name: "slug", value: "" },
    context: { arguments: { section: plan.section } },
  });
  const typed = plan.slug_prefix
    ? await client.complete({
        ref,
        argument: { name: "slug", value: plan.slug_prefix },
        context: { arguments: { section: plan.section } },
      })
    : null;
  out.completeSections = sections.completion;
  out.completeSlugs = slugs.completion;
  out.completeTyped = typed ? typed.completion : null;
  let unknown;
  try {
    await client.complete({
      ref: { type: "ref/prompt", name: "no_such_prompt" },
      argument: { name: "a", value: "" },
    });
    unknown = { ok: true };
  } catch (err) {
    unknown = { ok: false, code: err.code ?? null, message: String(err.message) };
  }
  out.completeUnknownPrompt = unknown;

  // every worked example of the registry: the SDK checks each structuredContent against the
  // tool's outputSchema (from listTools above) and throws when it does not match
  out.examples = [];
  for (const example of plan.examples ?? []) {
    try {
      const result = await callTool(
        client,
        { name: example.name, arguments: example.arguments },
        { timeout: plan.timeout_ms },
      );
      out.examples.push({
        name: example.name,
        isError: result.isError ?? false,
        structured: result.structuredContent !== undefined,
        text: result.isError ? JSON.stringify(result.content).slice(0, 500) : null,
      });
    } catch (err) {
      out.examples.push({ name: example.name, thrown: String(err.message ?? err) });
    }
  }

  // a solver call with onprogress (the SDK's RequestOptions): notifications, then the result
  const progress = [];
  const begin = performance.now();
  const solved = await callTool(
    client,
    { name: "group_lasso_solve", arguments: plan.progress_args },
    {
      timeout: plan.timeout_ms,
      onprogress: (p) => progress.push({ ...p, at_ms: performance.now() - begin }),
    },
  );
  out.progress = progress;
  out.progressResult = {
    isError: solved.isError ?? false,
    structuredContent: solved.structuredContent ?? null,
    took_ms: performance.now() - begin,
  };

  // cancellation: each long call aborted (AbortSignal) after its first progress notification
  const aborts = plan.long_args.map(async (args) => {
    const controller = new AbortController();
    const seen = [];
    const started = performance.now();
    try {
      const result = await callTool(client, { name: "group_lasso_solve", arguments: args }, {
        timeout: plan.timeout_ms,
        signal: controller.signal,
        onprogress: (p) => {
          seen.push(p.progress);
          if (seen.length === 1) controller.abort("the test has seen enough");
        },
      });
      return { settled: "resolved", isError: result.isError ?? false, progress: seen };
    } catch (err) {
      return {
        settled: "rejected",
        message: String(err.message ?? err),
        progress: seen,
        after_ms: performance.now() - started,
      };
    }
  });
  out.aborted = await Promise.all(aborts);
  const next = performance.now();
  const short = await callTool(
    client,
    { name: "group_lasso_solve", arguments: plan.short_args },
    { timeout: plan.timeout_ms },
  );
  out.afterAbort = {
    isError: short.isError ?? false,
    stop_reason: short.structuredContent?.stop_reason ?? null,
    took_ms: performance.now() - next,
  };
} finally {
  await client.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
