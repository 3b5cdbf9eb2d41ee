#!/usr/bin/env node
// loranet solc shim: makes solc-js (npm `solc`) look like a native `solc` binary to py-solc-x.
//
//   solc --version                       -> native-style version banner
//   solc --standard-json [--base-path P] [--include-path P]... [--allow-paths A,B]
//        < input.json                    -> standard-JSON output
//
// The compiler output is written to the file named by LORANET_SOLC_OUT (set by solc-shim.sh),
// never straight to stdout: solc-js output can be truncated when a Node process writes a large
// string into a pipe and exits. Nothing else (no ">>>" SMT notices) is printed.
"use strict";
const fs = require("fs");
const path = require("path");

const projectRoot = process.env.LORANET_PROJECT_ROOT || path.resolve(__dirname, "..", "..");
const solc = require(require.resolve("solc", { paths: [projectRoot] }));

function nativeVersion() {
  // "0.8.37+commit.f401782d.Emscripten.clang" -> "0.8.37+commit.f401782d.Linux.g++"
  return solc.version().replace(/\.Emscripten\.clang$/, ".Linux.g++");
}

function parseArgs(argv) {
  const opts = { standardJson: false, version: false, basePath: null, includePaths: [], allowPaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const takeValue = () => {
      if (a.includes("=")) return a.slice(a.indexOf("=") + 1);
      i += 1;
      if (i >= argv.length) throw new Error(`missing value for ${a}`);
      return argv[i];
    };
    if (a === "--version") opts.version = true;
    else if (a === "--standard-json") opts.standardJson = true;
    else if (a.startsWith("--base-path")) opts.basePath = takeValue();
    else if (a.startsWith("--include-path")) opts.includePaths.push(takeValue());
    else if (a.startsWith("--allow-paths")) opts.allowPaths.push(...takeValue().split(",").filter(Boolean));
    else if (a.startsWith("--")) {
      // Options such as --optimize are expressed inside the standard-JSON input; ignore them.
    }
  }
  return opts;
}

function makeImportCallback(opts) {
  const roots = [opts.basePath, ...opts.includePaths, ...opts.allowPaths, process.cwd()].filter(Boolean);
  return function findImport(importPath) {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : roots.map((root) => path.resolve(root, importPath));
    for (const candidate of candidates) {
      try {
        return { contents: fs.readFileSync(candidate, "utf8") };
      } catch (_err) {
        // try the next root
      }
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(", ")})` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const out = process.env.LORANET_SOLC_OUT;
  const emit = (text) => (out ? fs.writeFileSync(out, text) : process.stdout.write(text));
  if (opts.version) {
    emit(`solc, the solidity compiler commandline interface\nVersion: ${nativeVersion()}\n`);
    return 0;
  }
  if (!opts.standardJson) {
    process.stderr.write("loranet solc shim: only --version and --standard-json are supported\n");
    return 2;
  }
  const input = fs.readFileSync(0, "utf8");
  const output = solc.compile(input, { import: makeImportCallback(opts) });
  emit(output);
  return 0;
}

process.exitCode = main();
