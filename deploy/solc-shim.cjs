#!/usr/bin/env node
// A native-style `solc` command over the npm `solc` module (soljson, no download), so that
// py-solc-x, brownie and forge can use it. It answers:
//   solc --version
//   solc --standard-json [--base-path P] [--allow-paths A,B]      (input JSON on stdin)
//   solc --combined-json abi,bin,bin-runtime,... [--evm-version V] [--optimize] FILES...
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

function optionValue(args, name) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : undefined;
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

function rootsFrom(args) {
  const roots = [process.cwd()];
  const base = optionValue(args, "--base-path");
  if (base) roots.unshift(base);
  const allow = optionValue(args, "--allow-paths");
  if (allow) roots.push(...allow.split(","));
  return roots;
}

function compileStandard(input, args) {
  return solc.compile(input, { import: importCallback(rootsFrom(args)) });
}

function standardJson(args) {
  const chunks = [];
  process.stdin.on("data", (c) => chunks.push(c));
  process.stdin.on("end", () => {
    process.stdout.write(compileStandard(Buffer.concat(chunks).toString("utf8"), args));
  });
}

// --combined-json: the subset of outputs py-solc-x and brownie ask for.
const COMBINED = {
  abi: (c) => c.abi,
  bin: (c) => c.evm.bytecode.object,
  "bin-runtime": (c) => c.evm.deployedBytecode.object,
  "srcmap": (c) => c.evm.bytecode.sourceMap,
  "srcmap-runtime": (c) => c.evm.deployedBytecode.sourceMap,
  "opcodes": (c) => c.evm.bytecode.opcodes,
  "hashes": (c) => c.evm.methodIdentifiers,
  "metadata": (c) => c.metadata,
  "userdoc": (c) => c.userdoc,
  "devdoc": (c) => c.devdoc,
};
const SELECTION = {
  abi: ["abi"], bin: ["evm.bytecode.object"], "bin-runtime": ["evm.deployedBytecode.object"],
  srcmap: ["evm.bytecode.sourceMap"], "srcmap-runtime": ["evm.deployedBytecode.sourceMap"],
  opcodes: ["evm.bytecode.opcodes"], hashes: ["evm.methodIdentifiers"], metadata: ["metadata"],
  userdoc: ["userdoc"], devdoc: ["devdoc"],
};

function combinedJson(args) {
  const fields = (optionValue(args, "--combined-json") || "").split(",").filter(Boolean);
  const unknown = fields.filter((f) => !(f in COMBINED));
  if (unknown.length) return fail(`unsupported --combined-json fields: ${unknown.join(",")}`);
  const valued = new Set(["--combined-json", "--evm-version", "--base-path", "--allow-paths", "--optimize-runs"]);
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (valued.has(args[i])) { i++; continue; }
    if (!args[i].startsWith("--")) files.push(args[i]);
  }
  const sources = {};
  for (const f of files) sources[f] = { content: fs.readFileSync(f, "utf8") };
  const settings = {
    outputSelection: { "*": { "*": fields.flatMap((f) => SELECTION[f]) } },
    optimizer: { enabled: args.includes("--optimize"), runs: Number(optionValue(args, "--optimize-runs") || 200) },
  };
  const evmVersion = optionValue(args, "--evm-version");
  if (evmVersion) settings.evmVersion = evmVersion;
  const out = JSON.parse(compileStandard(JSON.stringify({ language: "Solidity", sources, settings }), args));
  const errors = (out.errors || []).filter((e) => e.severity === "error");
  if (errors.length) return fail(errors.map((e) => e.formattedMessage).join("\n"));
  const contracts = {};
  for (const [file, byName] of Object.entries(out.contracts || {})) {
    for (const [name, c] of Object.entries(byName)) {
      const entry = {};
      for (const f of fields) entry[f] = COMBINED[f](c);
      contracts[`${file}:${name}`] = entry;
    }
  }
  process.stdout.write(JSON.stringify({ contracts, version: solc.version() }));
}

function main(args) {
  if (args.includes("--version")) {
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  } else if (args.includes("--standard-json")) {
    standardJson(args);
  } else if (args.includes("--combined-json")) {
    combinedJson(args);
  } else {
    fail("supported: --version, --standard-json, --combined-json FIELDS FILES...");
  }
}

main(process.argv.slice(2));
