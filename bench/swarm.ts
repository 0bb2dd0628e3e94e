// The stack on the three-node swarm lab beside the same stack on one Docker host, in one run:
// first up, scale 3 → 6 → 3 and a rolling update (each timed, with failed requests under steady
// load), then on the swarm only: a never-healthy release rolled back, a node stopped, and the
// primary's node killed under writes (failover time, failed and lost writes).
// Stacks `swarmbench` (lab, provider on node-3) and `onehost` (127.0.0.1:18140), each from its
// own copy of the program. Needs the Docker engine, the base image and the lab (brought up).
//   npx tsx bench/swarm.ts
import * as fs from "node:fs";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LoadLoop, type LoadReport } from "../ops/http";
import { waitFor, withTimeout } from "../ops/poll";
import { addMigration, copyProgram, infoLoad, removeProgramCopy } from "../ops/rollout";
import { destroyStack, downStack, upStack, type Stack } from "../ops/stack";
import {
  ackedWrites,
  edgeLoad,
  lab,
  labStackConfig,
  missingUsers,
  nodeDocker,
  poolNodes,
  roleOf,
  tasksOf,
  waitPair,
} from "../ops/swarm";
import { report, type Figure } from "./report";

const RATE = 20;
const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const failed = (r: LoadReport): string => `${r.failed} of ${r.sent}`;

interface Target {
  readonly name: string;
  readonly config: Record<string, string>;
  readonly programDir: string;
  /** Steady GET /api/info load through the stack's entry point. */
  load(stack: Stack): LoadLoop;
}

/** One timed `up` under load: [duration, failed requests]. */
async function timedUp(
  target: Target,
  stack: Stack | undefined,
  config: Record<string, string>,
): Promise<{ stack: Stack; time: string; failed: string }> {
  const traffic = stack ? target.load(stack) : undefined;
  const started = Date.now();
  console.log(`${target.name}: up ${JSON.stringify(config)}`);
  const next = await withTimeout(
    upStack(target.name, { ...target.config, ...config }, target.programDir),
    900_000,
  );
  const time = seconds(started);
  const result = traffic ? await withTimeout(traffic.stop(), 60_000) : undefined;
  return { stack: next, time, failed: result ? failed(result) : "—" };
}

/** First up, 3 → 6 → 3 and a rolling update of `target`: one row each. */
async function common(target: Target): Promise<{ rows: Record<string, string>; stack: Stack }> {
  const rows: Record<string, string> = {};
  let step = await timedUp(target, undefined, { replicas: "3" });
  rows["first up, 3 replicas"] = step.time;
  for (const [from, to] of [
    [3, 6],
    [6, 3],
  ]) {
    step = await timedUp(target, step.stack, { replicas: String(to) });
    rows[`scale ${from} → ${to}`] = `${step.time}; ${step.failed} failed`;
  }
  addMigration(
    target.programDir,
    "1900000000099_bench-swarm",
    "CREATE TABLE bench_swarm (id int);",
  );
  step = await timedUp(target, step.stack, { replicas: "3" });
  rows["rolling update, 3 replicas"] = `${step.time}; ${step.failed} failed`;
  console.log(`${target.name}: ${JSON.stringify(rows)}`);
  return { rows, stack: step.stack };
}

async function main(): Promise<void> {
  await lab(["up"]);
  const oneHost: Target = {
    name: "onehost",
    config: { httpPort: "18140", adminUi: "false", collectorIntervalSeconds: "0" },
    programDir: copyProgram(),
    load: (stack) => infoLoad(stack.url, RATE),
  };
  const swarm: Target = {
    name: "swarmbench",
    config: labStackConfig(3),
    programDir: copyProgram(),
    load: () => edgeLoad(1, RATE),
  };
  const figures: Figure[] = [];
  try {
    const single = await common(oneHost);
    await destroyStack(oneHost.name, oneHost.programDir);
    const multi = await common(swarm);
    for (const [name, value] of Object.entries(multi.rows)) {
      figures.push({ name, value, note: `one host, same run: ${single.rows[name]}` });
    }
    let stack = multi.stack;
    const token = String(stack.result.outputs.adminToken);

    // A release whose healthcheck never passes: Swarm rolls the leader back, the up fails.
    const healthcheck = path.join(swarm.programDir, "app/bin/app-healthcheck");
    const good = fs.readFileSync(healthcheck, "utf8");
    fs.writeFileSync(healthcheck, "#!/usr/bin/env bash\necho never ready\nexit 1\n");
    let traffic = edgeLoad(1, RATE);
    let started = Date.now();
    const outcome = await upStack(swarm.name, swarm.config, swarm.programDir).then(
      () => "the up succeeded (unexpected)",
      (e: unknown) =>
        `the up failed: ${String((e as Error).message)
          .split("\n")[0]
          .slice(0, 120)}`,
    );
    const rollback = seconds(started);
    fs.writeFileSync(healthcheck, good);
    let result = await withTimeout(traffic.stop(), 60_000);
    figures.push({
      name: "never-healthy release: up fails after",
      value: rollback,
      note: `${outcome}; ${failed(result)} requests failed meanwhile (old tasks serve); one host: no rollback (the new container's wait times out after 300 s)`,
    });
    // The fixed release: what Swarm runs again after its rollback (no load: only the state moves).
    stack = (await timedUp(swarm, undefined, {})).stack;
    console.log("swarmbench: a node stops");

    // A node stops: its app tasks move.
    traffic = edgeLoad(1, RATE);
    started = Date.now();
    await lab(["node-stop", "2"]);
    const manager = nodeDocker(3);
    await waitFor(
      "the followers off node-2",
      async () => {
        const running = (await tasksOf(manager, "ha-stack-swarmbench-app")).filter(
          (t) => t.state === "running",
        );
        return running.length === 2 && running.every((t) => t.node !== "node-2") ? true : undefined;
      },
      300_000,
      1_000,
    );
    const moved = seconds(started);
    result = await withTimeout(traffic.stop(), 60_000);
    figures.push({
      name: "node stopped (node-2: pg-1, app tasks, an edge): app tasks running elsewhere after",
      value: moved,
      note: `${failed(result)} requests failed through node-1's edge meanwhile; one host: losing the host loses the stack`,
    });
    await lab(["node-start", "2"]);
    started = Date.now();
    await waitPair(1, "pg-0", "pg-1", 420_000);
    figures.push({
      name: "node-2 back: pg-1 streaming and up in pgpool after",
      value: seconds(started),
    });

    // The primary's node dies under writes.
    const { loop: writes, acked } = ackedWrites(3, token, "bench");
    await sleep(2_000);
    started = Date.now();
    await lab(["node-kill", "1"]);
    await waitFor(
      "pg-1 primary",
      async () =>
        roleOf(await poolNodes(3).catch(() => []), "pg-1") === "primary" ? true : undefined,
      300_000,
      500,
    );
    const promoted = seconds(started);
    await sleep(5_000);
    result = await withTimeout(writes.stop(), 60_000);
    const lost = (await missingUsers(3, acked)).length;
    figures.push({
      name: "primary's node killed (node-1): pg-1 primary after",
      value: promoted,
      note: `5 writes/s through node-3's edge: ${failed(result)} failed, ${lost} of ${acked.length} acknowledged lost; one host (container SIGKILL): see "Failover and self-healing"`,
    });
    await lab(["node-start", "1"]);
    started = Date.now();
    await waitPair(3, "pg-1", "pg-0", 600_000);
    figures.push({
      name: "node-1 back: old primary streaming as standby after",
      value: seconds(started),
    });
  } finally {
    await lab(["up"]).catch(() => undefined);
    await downStack(swarm.name, swarm.programDir).catch((e: unknown) => console.log(String(e)));
    for (const node of [1, 2] as const) {
      await nodeDocker(node)
        .getVolume(`ha-stack-swarmbench-pg-${node - 1}-data`)
        .remove()
        .catch(() => undefined);
    }
    await destroyStack(oneHost.name, oneHost.programDir).catch(() => undefined);
    removeProgramCopy(swarm.programDir);
    removeProgramCopy(oneHost.programDir);
  }
  report(
    "Across several hosts (swarm lab)",
    "npx tsx bench/swarm.ts",
    figures,
    "Each `up` runs through the real Pulumi engine (a preview after it must find nothing to change); the swarm stack's provider talks to node-3 of the lab (three dind Docker hosts on this one 2-core machine, so the three nodes share two cores), the one-host stack to the host's engine. Load: GET /api/info at 20 req/s through node-1's nginx (one host: its nginx), a new connection each. Images were already built and pushed.",
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
