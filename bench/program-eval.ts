// How long the program itself takes to evaluate (config → every resource registered), under
// the SDK's mock mode with instant mocks: the program's own time, not Docker's.
//   npx tsx bench/program-eval.ts
import { fork } from "node:child_process";
import { report } from "./report";

const RUNS = 5;

/** One evaluation in a fresh process, so module caches do not flatter later runs. */
interface Evaluation {
  ms: number;
  ownMs: number;
  resources: number;
}

function evaluate(replicas: number, stack: "stack" | "nostack" = "stack"): Promise<Evaluation> {
  return new Promise((resolve, reject) => {
    const child = fork(require.resolve("./program-eval-child.ts"), [String(replicas), stack], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    child.once("message", (m) => resolve(m as Evaluation));
    child.once("error", reject);
    child.once("exit", (code) => code !== 0 && reject(new Error(`child exited ${code}`)));
  });
}

async function main(): Promise<void> {
  const figures = [];
  const own: Record<number, number> = {};
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const replicas of [1, 3, 32]) {
    const runs: Evaluation[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await evaluate(replicas));
    own[replicas] = median(runs.map((r) => r.ownMs));
    figures.push({
      name: `program's own code, replicas = ${replicas}`,
      value: `${own[replicas].toFixed(0)} ms median of ${RUNS}`,
      note: `config, components, renderers, image hashes; ${runs[0].resources} resources declared`,
    });
    figures.push({
      name: `until all registered, replicas = ${replicas}`,
      value: `${median(runs.map((r) => r.ms)).toFixed(0)} ms median of ${RUNS}`,
      note: "adds the SDK's serialisation and the mock round trips",
    });
  }
  const bare = [];
  for (let i = 0; i < RUNS; i++) bare.push(await evaluate(32, "nostack"));
  const ownBare = median(bare.map((r) => r.ownMs));
  figures.push({
    name: "program's own code, replicas = 32, SDK stack capture off",
    value: `${ownBare.toFixed(0)} ms median of ${RUNS}`,
    note: "Error.stackTraceLimit = 0: without the SDK's per-resource source-position capture",
  });
  figures.push({
    name: "share of own-code time in the SDK's stack capture, 32 replicas",
    value: `${(100 * (1 - ownBare / own[32])).toFixed(0)} %`,
    note: "same run",
  });
  figures.push({
    name: "ratio own code 32 / 1 replicas",
    value: (own[32] / own[1]).toFixed(2),
    note: "same run: the per-replica cost of the program itself",
  });
  report(
    "Program evaluation",
    "npx tsx bench/program-eval.ts",
    figures,
    "Time from importing index.ts to the last registration resolved, mocks answering at once (so it is the program's own time plus the SDK's). Excludes Node and module start-up." +
      ' The real Pulumi engine (CLI built from source, README "The real Pulumi engine") adds its own start-up, plugin and diff time: `npx tsx bench/engine.ts` measures it. The stack capture is the SDK\'s (`Resource.callsites()`: a full `new Error().stack` per resource, source-mapped). The program declares one container and, on one host, one roll-handover command per roll batch (with the default rolloutBatch 1, one per replica).',
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
