#!/usr/bin/env node
// Builds a JavaScript wasmhook block: one command around jco's `componentize` (ComponentizeJS,
// pinned in package.json) and the WIT in this repository's `wit/` (world `block-js`).
//
//     npm ci --prefix sdk/js                                    # once: the pinned toolchain
//     node sdk/js/build.mjs my-block.js -o my-block.wasm
//
// The block's module and everything it imports (relative files, npm packages, and the SDK as
// `"wasmhook"`) are first bundled into one ES module with rolldown; `wasi:*` and
// `wasmhook:*` imports stay imports of the component. The toolchain is taken from
// `$WASMHOOK_JS_TOOLS` (a node_modules directory) or `sdk/js/node_modules`.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const SDK_DIR = dirname(fileURLToPath(import.meta.url));
const WIT_DIR = resolve(SDK_DIR, "..", "..", "wit");
const WORLD = "block-js";

function usage(message) {
  if (message) console.error(`error: ${message}`);
  console.error("usage: node sdk/js/build.mjs <block.js> -o <out.wasm> [--wit <dir>]");
  process.exit(2);
}

function parseArgs(argv) {
  const args = { wit: WIT_DIR };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-o" || arg === "--output") args.output = argv[++i];
    else if (arg === "--wit") args.wit = argv[++i];
    else if (arg === "-h" || arg === "--help") usage();
    else if (arg.startsWith("-")) usage(`unknown option ${arg}`);
    else if (args.source) usage("one source file only");
    else args.source = arg;
  }
  if (!args.source) usage("the block's .js file is missing");
  if (!args.output) usage("-o <out.wasm> is missing");
  return args;
}

const args = parseArgs(process.argv.slice(2));
const tools = resolve(process.env.WASMHOOK_JS_TOOLS || join(SDK_DIR, "node_modules"));
const jco = join(tools, "@bytecodealliance", "jco", "dist", "jco.js");
const rolldownEntry = join(tools, "rolldown", "dist", "index.mjs");
if (!existsSync(jco) || !existsSync(rolldownEntry)) {
  console.error(`the pinned toolchain is not installed in ${tools}: run \`npm ci --prefix ${SDK_DIR}\``);
  process.exit(2);
}
const { rolldown } = await import(pathToFileURL(rolldownEntry).href);

const work = mkdtempSync(join(tmpdir(), "wasmhook-js-"));
try {
  const bundled = join(work, "block.js");
  const bundle = await rolldown({
    input: resolve(args.source),
    external: [/^wasi:/, /^wasmhook:/],
    resolve: { alias: { wasmhook: join(SDK_DIR, "wasmhook.js") } },
    logLevel: "warn",
  });
  await bundle.write({ file: bundled, format: "esm" });
  await bundle.close();
  const built = spawnSync(
    process.execPath,
    // ComponentizeJS resolves the source against the working directory: give it a plain name.
    // `--disable http`: StarlingMonkey's fetch() would import wasi:http, which blocks are not
    // given (yet): without it, the engine imports only what the sandbox serves.
    [jco, "componentize", "block.js", "--wit", resolve(args.wit), "--world-name", WORLD, "--disable", "http",
     "--out", resolve(args.output)],
    { stdio: "inherit", cwd: work },
  );
  process.exitCode = built.status ?? 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
