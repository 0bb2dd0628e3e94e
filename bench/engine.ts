// What the real Pulumi engine itself costs, beside the program and Docker: the CLI's start, a
// preview of an empty program (engine, state backend, language runtime over gRPC), the first use
// of each plugin, and a no-change preview, up and refresh of the whole stack (2 replicas) — the diff the engine and the bridged docker plugin do on every run. Each figure is
// the median of RUNS runs in this one process, so the rows compare with each other.
// Runs its own stack `enginebench` on 127.0.0.1:18150; needs the Docker engine and the base image.
//   npm run bench:engine
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as automation from "@pulumi/pulumi/automation";
import * as random from "@pulumi/random";
import { engine } from "../ops/engine";
import { destroyStack, previewStack, refreshStack, upStack } from "../ops/stack";
import { report, type Figure } from "./report";

const RUNS = 5;
const STACK = "enginebench";
const CONFIG = {
  replicas: "2",
  httpPort: "18150",
  collectorIntervalSeconds: "0",
  adminUi: "false",
};
const quiet = { log: () => undefined };

async function median(times: number, run: () => Promise<unknown> | unknown): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = process.hrtime.bigint();
    await run();
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)];
}

/** A preview of a small inline program in a throwaway project and backend. */
async function scratchPreview(program: automation.PulumiFn, dir: string): Promise<number> {
  const found = await engine({ quiet: true });
  const stack = await automation.LocalWorkspace.createOrSelectStack(
    { projectName: "engine-bench", stackName: "bench", program },
    {
      workDir: dir,
      pulumiCommand: found.command,
      envVars: {
        ...found.env,
        PULUMI_BACKEND_URL: `file://${dir}`,
        PULUMI_CONFIG_PASSPHRASE: "bench",
      },
    },
  );
  return median(RUNS, () => stack.preview());
}

async function main(): Promise<void> {
  const found = await engine({ quiet: true });
  const env = { ...process.env, ...found.env };
  const cli = path.join(found.env.PULUMI_HOME, "bin", "pulumi");
  const figures: Figure[] = [];
  const ms = (value: number) => `${Math.round(value)} ms`;

  const version = await median(RUNS, () => execFileSync(cli, ["version"], { env }));
  figures.push({ name: "CLI start (`pulumi version`)", value: ms(version) });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hs-engine-bench-"));
  let empty: number;
  try {
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: engine-bench\nruntime: nodejs\n");
    empty = await scratchPreview(async () => ({}), dir);
    figures.push({
      name: "preview, empty program",
      value: ms(empty),
      note: "CLI, file backend, the program's language runtime served from this process",
    });
    const withRandom = await scratchPreview(async () => {
      new random.RandomPassword("p", { length: 16 });
    }, dir);
    figures.push({
      name: "preview, one RandomPassword",
      value: ms(withRandom),
      note: `+${ms(withRandom - empty)} over empty: the random plugin's start and one diff`,
    });
    const withDocker = await scratchPreview(async () => {
      new docker.Network("n", { name: "hs-engine-bench" });
    }, dir);
    figures.push({
      name: "preview, one docker Network",
      value: ms(withDocker),
      note: `+${ms(withDocker - empty)} over empty: the docker plugin's start (it pings the daemon) and one diff`,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  await destroyStack(STACK).catch(() => undefined);
  try {
    const first = Date.now();
    const created = await upStack(STACK, CONFIG, undefined, {
      ...quiet,
      expectNoChangesAfter: false,
    });
    const resources = Object.values(created.result.summary).reduce((a, b) => a + b, 0);
    figures.push({
      name: "first up, 2 replicas",
      value: `${((Date.now() - first) / 1000).toFixed(1)} s`,
      note: "images already built; containers wait until healthy",
    });
    const preview = await median(RUNS, () =>
      previewStack(STACK, { ...quiet, expectNoChanges: true }),
    );
    figures.push({
      name: "no-change preview, whole stack",
      value: ms(preview),
      note: `${(preview / empty).toFixed(1)} × the empty preview: the program and the diff of ${resources} resources`,
    });
    const up = await median(RUNS, () =>
      upStack(STACK, CONFIG, undefined, { ...quiet, expectNoChangesAfter: false }),
    );
    figures.push({ name: "no-change up, whole stack", value: ms(up), note: "writes the state" });
    const refresh = await median(RUNS, () => refreshStack(STACK, undefined, quiet));
    figures.push({
      name: "refresh, whole stack",
      value: ms(refresh),
      note: "every resource read back from Docker",
    });
  } finally {
    await destroyStack(STACK).catch((e: unknown) => console.error(e));
  }

  report(
    "The Pulumi engine's own costs",
    "npm run bench:engine",
    figures,
    `Medians of ${RUNS} runs in one process, through the CLI and plugins of \`npm run toolchain\` (` +
      `${found.source}); the program runs inline. Program evaluation alone is in "Program ` +
      `evaluation" (\`npm run bench:program\`).`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
