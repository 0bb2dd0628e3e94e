// Reads `go test -json` events on stdin, passes them through as go test's usual text, and writes
// the counts in the shape of vitest's JSON report (scripts/test-summary.mjs adds them up): every
// test and subtest that passed or failed counts once.
//   go test -json ./... | node scripts/go-test-report.mjs REPORT.json
import * as fs from "node:fs";
import * as readline from "node:readline";

const [file] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let broken = false;
for await (const line of readline.createInterface({ input: process.stdin })) {
  let event;
  try {
    event = JSON.parse(line);
  } catch {
    // A build error comes as plain text.
    process.stdout.write(`${line}\n`);
    broken = true;
    continue;
  }
  if (event.Action === "output") process.stdout.write(event.Output);
  if (event.Test && event.Action === "pass") passed += 1;
  if (event.Test && event.Action === "fail") failed += 1;
  // A package that fails without a failing test (it did not build, or it panicked).
  if (!event.Test && event.Action === "fail") broken = true;
}
fs.writeFileSync(
  file,
  JSON.stringify({
    numPassedTests: passed,
    numFailedTests: failed,
    numPendingTests: 0,
    numTodoTests: 0,
    success: failed === 0 && !broken,
  }),
);
process.exit(failed === 0 && !broken ? 0 : 1);
