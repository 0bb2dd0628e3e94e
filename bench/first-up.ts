// How long a first `up` takes as `replicas` grows, against the critical path
// (pg-0 → pg-1 → pgpool → leader → one follower → nginx, i.e. a first up with 2 replicas, where
// nothing runs beside that chain). Each stack is brought up from nothing, timed, then destroyed.
// "before" rows run the same program with the followers chained one after another again (the
// dependsOn of PR #14's predecessor: follower i waits for follower i − 1), patched into a copy.
// Runs its own stack `firstup` on 127.0.0.1:18140; needs the Docker engine and the base image.
//   npx tsx bench/first-up.ts
import * as fs from "node:fs";
import * as path from "node:path";
import { copyProgram, removeProgramCopy } from "../ops/rollout";
import { destroyStack, upStack } from "../ops/stack";
import { report, type Figure } from "./report";

const STACK = "firstup";
// adminUi off: Adminer publishes a fixed host port (8081) that another stack may hold.
const CONFIG = {
  httpPort: "18140",
  collectorIntervalSeconds: "0",
  adminUi: "false",
  rolloutBatch: "1",
};
const AFTER = [2, 1, 3, 8, 16];
const BEFORE = [3, 16];

/** The copy's AppTier with every follower waiting for the one before it (the old order). */
function chainFollowers(programDir: string): void {
  const file = path.join(programDir, "components", "app.ts");
  const text = fs.readFileSync(file, "utf8");
  const parallel = "dependsOn: leader ? [args.pgpool] : [this.containers[0]],";
  if (!text.includes(parallel)) throw new Error(`${file}: the followers' dependsOn line moved`);
  fs.writeFileSync(
    file,
    text.replace(parallel, "dependsOn: leader ? [args.pgpool] : [this.containers[index - 1]],"),
  );
}

async function firstUp(programDir: string, replicas: number): Promise<number> {
  await destroyStack(STACK, programDir).catch(() => undefined);
  const start = Date.now();
  try {
    await upStack(
      STACK,
      { ...CONFIG, replicas: String(replicas), maxReplicas: String(Math.max(...AFTER, ...BEFORE)) },
      programDir,
    );
    return (Date.now() - start) / 1000;
  } finally {
    await destroyStack(STACK, programDir);
  }
}

async function main(): Promise<void> {
  const after = copyProgram();
  const before = copyProgram();
  chainFollowers(before);
  const seconds: Record<string, number> = {};
  try {
    for (const n of AFTER) {
      seconds[`after ${n}`] = await firstUp(after, n);
      console.log(`first up, ${n} replicas: ${seconds[`after ${n}`].toFixed(1)} s`);
    }
    for (const n of BEFORE) {
      seconds[`before ${n}`] = await firstUp(before, n);
      console.log(
        `first up, ${n} replicas, followers chained: ${seconds[`before ${n}`].toFixed(1)} s`,
      );
    }
  } finally {
    removeProgramCopy(after);
    removeProgramCopy(before);
  }

  const critical = seconds["after 2"];
  const figures: Figure[] = [
    {
      name: "critical path (first up, 2 replicas)",
      value: `${critical.toFixed(1)} s`,
      note: "pg-0 → pg-1 → pgpool → leader → one follower → nginx, nothing beside it",
    },
    ...[1, 3, 8, 16].map((n) => ({
      name: `first up, ${n} replica${n === 1 ? "" : "s"}`,
      value: `${seconds[`after ${n}`].toFixed(1)} s`,
      note: `${(seconds[`after ${n}`] / critical).toFixed(2)} × the critical path; followers in parallel`,
    })),
    ...BEFORE.map((n) => ({
      name: `before: first up, ${n} replicas, followers one after another`,
      value: `${seconds[`before ${n}`].toFixed(1)} s`,
      note: `${(seconds[`before ${n}`] / critical).toFixed(2)} × the critical path; after / before ${(
        seconds[`after ${n}`] / seconds[`before ${n}`]
      ).toFixed(2)}`,
    })),
  ];
  report(
    "First up",
    "npx tsx bench/first-up.ts",
    figures,
    "Each figure is one `up` of a stack from nothing through the real Pulumi engine (ops/stack.ts) on " +
      "the real Docker engine, images already built, collector off, timed from start to return. " +
      "Every container is created with `wait: true`, so a step ends when its healthcheck passes. " +
      "Followers start one roll batch (`rolloutBatch`, 1 here) at a time, each batch healthy " +
      "and handed over before the next, so the time grows with the replicas.",
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
