#!/usr/bin/env node
// A native-style `solc` command over the npm `solc` module (soljson, no download), so that
// py-solc-x, brownie, forge, crytic-compile and slither can use it. It answers:
//   solc --version
//   solc --help                                                   (lists the --combined-json fields)
//   solc --standard-json [--base-path P] [--allow-paths A,B]      (input JSON on stdin)
//   solc --combined-json FIELDS [--evm-version V] [--optimize] [--optimize-runs N] [--via-ir]
//        [--base-path P] [--allow-paths A,B] [prefix=target ...] FILES... (- for stdin)
// --combined-json answers in native solc's layout: "contracts" keyed "file:Name", and with
// `ast` (what crytic-compile asks for) "sourceList" and "sources": {file: {"AST", "id"}}.
// With --combined-json an option it does not know is an error, as in native solc: silently
// dropping --via-ir would compile something else than was asked.
// The npm `solcjs` command prints an SMT notice on stdout before its JSON, and calling
// process.exit() after a large write cuts a pipe at 64 KiB; this shim does neither.
"use strict";

const fs = require("fs");
const path = require("path");
const solc = require(path.join(__dirname, "..", "node_modules", "solc"));

function fail(message) {
  process.stderr.write(`solc-shim: ${message}\n`);
  process.exitCode = 1;
}

function importCallback(roots) {
  return (importPath) => {
    for (const root of roots) {
      const candidate = path.resolve(root, importPath);
      if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, "utf8") };
    }
    return { error: `File not found: ${importPath}` };
  };
}

function rootsFrom(opts) {
  const roots = [process.cwd()];
  if (opts.basePath) roots.unshift(opts.basePath);
  roots.push(...opts.includePaths);
  if (opts.allowPaths) roots.push(...opts.allowPaths.split(",").filter(Boolean));
  return roots;
}

function compileStandard(input, opts) {
  return solc.compile(input, { import: importCallback(rootsFrom(opts)) });
}

function standardJson(opts) {
  const chunks = [];
  process.stdin.on("data", (c) => chunks.push(c));
  process.stdin.on("end", () => {
    process.stdout.write(compileStandard(Buffer.concat(chunks).toString("utf8"), opts));
  });
}

// --combined-json fields: how each is read from a standard-json contract, and what it selects.
// `ast` is per source file, not per contract (see combinedJson); `compact-format` is what
// solc >= 0.8.10 always does, accepted for older callers.
const COMBINED = {
  abi: [(c) => c.abi, ["abi"]],
  bin: [(c) => c.evm.bytecode.object, ["evm.bytecode.object"]],
  "bin-runtime": [(c) => c.evm.deployedBytecode.object, ["evm.deployedBytecode.object"]],
  srcmap: [(c) => c.evm.bytecode.sourceMap, ["evm.bytecode.sourceMap"]],
  "srcmap-runtime": [(c) => c.evm.deployedBytecode.sourceMap, ["evm.deployedBytecode.sourceMap"]],
  opcodes: [(c) => c.evm.bytecode.opcodes, ["evm.bytecode.opcodes"]],
  asm: [(c) => c.evm.legacyAssembly, ["evm.legacyAssembly"]],
  hashes: [(c) => c.evm.methodIdentifiers, ["evm.methodIdentifiers"]],
  metadata: [(c) => c.metadata, ["metadata"]],
  userdoc: [(c) => c.userdoc, ["userdoc"]],
  devdoc: [(c) => c.devdoc, ["devdoc"]],
  "storage-layout": [(c) => c.storageLayout, ["storageLayout"]],
  "function-debug": [(c) => c.evm.bytecode.functionDebugData, ["evm.bytecode.functionDebugData"]],
  "function-debug-runtime": [(c) => c.evm.deployedBytecode.functionDebugData,
    ["evm.deployedBytecode.functionDebugData"]],
  "generated-sources": [(c) => c.evm.bytecode.generatedSources, ["evm.bytecode.generatedSources"]],
  "generated-sources-runtime": [(c) => c.evm.deployedBytecode.generatedSources,
    ["evm.deployedBytecode.generatedSources"]],
};
const PER_SOURCE = new Set(["ast", "compact-format"]);
const FIELDS = [...Object.keys(COMBINED), ...PER_SOURCE].sort();

// The options this shim understands; each other --option is refused.
const VALUED = new Set(["--combined-json", "--evm-version", "--base-path", "--allow-paths",
  "--optimize-runs", "--include-path"]);
const FLAGS = new Set(["--standard-json", "--optimize", "--via-ir", "--experimental-via-ir",
  "--no-color", "--color", "--pretty-json"]);

function parseArgs(argv) {
  const opts = { includePaths: [], files: [], remappings: [], flags: new Set(), unknown: [] };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) [arg, value] = [arg.slice(0, eq), arg.slice(eq + 1)]; // --name=value
    if (VALUED.has(arg)) {
      if (value === undefined) value = argv[++i];
      if (value === undefined) { opts.unknown.push(`${arg} (no value)`); continue; }
      if (arg === "--combined-json") opts.combined = value;
      else if (arg === "--evm-version") opts.evmVersion = value;
      else if (arg === "--base-path") opts.basePath = value;
      else if (arg === "--allow-paths") opts.allowPaths = value;
      else if (arg === "--optimize-runs") opts.optimizeRuns = value;
      else if (arg === "--include-path") opts.includePaths.push(value);
    } else if (FLAGS.has(arg)) {
      opts.flags.add(arg);
    } else if (arg === "-") {
      opts.files.push(arg); // the source on stdin, named <stdin> as native solc names it
    } else if (arg.startsWith("-")) {
      opts.unknown.push(arg);
    } else if (arg.includes("=") && !fs.existsSync(arg)) {
      opts.remappings.push(arg); // [context:]prefix=target, as native solc takes them
    } else {
      opts.files.push(arg);
    }
  }
  return opts;
}

function combinedJson(opts) {
  const fields = opts.combined.split(",").filter(Boolean);
  const unknown = fields.filter((f) => !(f in COMBINED) && !PER_SOURCE.has(f));
  if (unknown.length) return fail(`unsupported --combined-json fields: ${unknown.join(",")}`);
  if (!opts.files.length) return fail("no input files");
  const sources = {};
  for (const f of opts.files) {
    if (f === "-") sources["<stdin>"] = { content: fs.readFileSync(0, "utf8") };
    else sources[f] = { content: fs.readFileSync(f, "utf8") };
  }
  const perContract = fields.filter((f) => f in COMBINED);
  const outputSelection = { "*": { "*": perContract.flatMap((f) => COMBINED[f][1]) } };
  if (fields.includes("ast")) outputSelection["*"][""] = ["ast"];
  const settings = {
    outputSelection,
    optimizer: { enabled: opts.flags.has("--optimize"), runs: Number(opts.optimizeRuns || 200) },
  };
  if (opts.evmVersion) settings.evmVersion = opts.evmVersion;
  if (opts.flags.has("--via-ir") || opts.flags.has("--experimental-via-ir")) settings.viaIR = true;
  if (opts.remappings.length) settings.remappings = opts.remappings;
  const out = JSON.parse(compileStandard(JSON.stringify({ language: "Solidity", sources, settings }), opts));
  const errors = (out.errors || []).filter((e) => e.severity === "error");
  if (errors.length) return fail(errors.map((e) => e.formattedMessage).join("\n"));
  const warnings = (out.errors || []).filter((e) => e.severity !== "error");
  if (warnings.length) process.stderr.write(`${warnings.map((e) => e.formattedMessage).join("\n")}\n`);
  const result = { contracts: {} };
  for (const [file, byName] of Object.entries(out.contracts || {})) {
    for (const [name, c] of Object.entries(byName)) {
      const entry = {};
      for (const f of perContract) entry[f] = COMBINED[f][0](c);
      result.contracts[`${file}:${name}`] = entry;
    }
  }
  const byId = Object.entries(out.sources || {}).sort((a, b) => a[1].id - b[1].id);
  if (fields.some((f) => ["ast", "srcmap", "srcmap-runtime"].includes(f))) {
    result.sourceList = byId.map(([file]) => file);
  }
  if (fields.includes("ast")) {
    result.sources = {};
    for (const [file, s] of byId) result.sources[file] = { AST: s.ast, id: s.id };
  }
  result.version = solc.version();
  process.stdout.write(JSON.stringify(result));
}

function help() {
  process.stdout.write([
    "solc, the solidity compiler commandline interface (npm solc behind deploy/solc-shim.cjs)",
    `Version: ${solc.version()}`,
    "",
    "Usage: solc [options] [input_file...]",
    "",
    "Output Components:",
    `  --combined-json ${FIELDS.filter((f) => f !== "compact-format").join(",")}`,
    "",
  ].join("\n"));
}

function main(argv) {
  if (argv.includes("--version")) {
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }
  if (argv.includes("--help")) return help();
  const opts = parseArgs(argv);
  // With --standard-json the settings come from the input JSON, so other options are let by,
  // as this shim always did.
  if (opts.flags.has("--standard-json")) return standardJson(opts);
  if (opts.unknown.length) return fail(`unsupported options: ${opts.unknown.join(" ")}`);
  if (opts.combined !== undefined) return combinedJson(opts);
  fail("supported: --version, --help, --standard-json, --combined-json FIELDS FILES...");
}

main(process.argv.slice(2));
