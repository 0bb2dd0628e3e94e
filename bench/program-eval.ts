// How long the program itself takes to evaluate (config → every resource registered), under
// the SDK's mock mode with instant mocks: the program's own time, not Docker's.
//   npx tsx bench/program-eval.ts
import { fork } from "node:child_process";
import { report } from "./report";

const RUNS = 5;

/** One evaluation in a fresh process, so module caches do not flatter later runs. */
function evaluate(replicas: number): Promise<{ ms: number; resources: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(require.resolve("./program-eval-child.ts"), [String(replicas)], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    child.once("message", (m) => resolve(m as { ms: number; resources: number }));
    child.once("error", reject);
    child.once("exit", (code) => code !== 0 && reject(new Error(`child exited ${code}`)));
  });
}

async function main(): Promise<void> {
  const figures = [];
  const medians: Record<number, number> = {};
  for (const replicas of [1, 3, 32]) {
    const times: number[] = [];
    let resources = 0;
    for (let i = 0; i < RUNS; i++) {
      const run = await evaluate(replicas);
      times.push(run.ms);
      resources = run.resources;
    }
    times.sort((a, b) => a - b);
    medians[replicas] = times[Math.floor(RUNS / 2)];
    figures.push({
      name: `evaluate, replicas = ${replicas}`,
      value: `${medians[replicas].toFixed(0)} ms median of ${RUNS}`,
      note: `${resources} resources registered; min ${times[0].toFixed(0)} ms, max ${times[RUNS - 1].toFixed(0)} ms`,
    });
  }
  figures.push({
    name: "ratio 32 / 1 replicas",
    value: (medians[32] / medians[1]).toFixed(2),
    note: "same process kind, same run: the per-replica cost",
  });
  report(
    "Program evaluation",
    "npx tsx bench/program-eval.ts",
    figures,
    "Time from importing index.ts to the last registration resolved, mocks answering at once (so it is the program's own time plus the SDK's). Excludes Node and module start-up.",
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
