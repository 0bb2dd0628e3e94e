// How long scaling and rolling updates take through the test engine, and how many requests fail
// meanwhile (target: none), with steady load through nginx. Runs its own stack `scale` on
// 127.0.0.1:18130 from a temporary copy of the program (do not run it together with
// test/e2e/scale.test.ts, which uses the same stack). Needs the Docker engine and the base image.
//   npx tsx bench/scale.ts                  every step; writes its section of BENCHMARKS.md
//   npx tsx bench/scale.ts --rollout-only 10
//     first up with 10 replicas, then one rolling update under load, figures printed only
//     (to reproduce a rollout without the scale steps before it)
import {
  addMigration,
  copyProgram,
  infoLoad,
  latency,
  removeProgramCopy,
  UpstreamWatch,
} from "../ops/rollout";
import { destroyStack, upStack, type Stack } from "../ops/stack";
import { report, type Figure } from "./report";

const STACK = "scale";
const RATE = 20;
// adminUi off: Adminer publishes a fixed host port (8081) that another stack may hold.
const CONFIG = {
  httpPort: "18130",
  collectorIntervalSeconds: "0",
  adminUi: "false",
  lbAlgorithm: "round_robin",
  rolloutBatch: "1",
};

/** `--rollout-only N`: the replica count of a lone rollout, or undefined for the full run. */
function rolloutOnly(): number | undefined {
  const at = process.argv.indexOf("--rollout-only");
  if (at < 0) return undefined;
  const n = Number(process.argv[at + 1]);
  if (!Number.isInteger(n) || n < 1 || n > 32) {
    throw new Error(`--rollout-only takes a replica count 1–32, got ${process.argv[at + 1]}`);
  }
  return n;
}

async function main(): Promise<void> {
  const only = rolloutOnly();
  const programDir = copyProgram();
  const figures: Figure[] = [];
  let stack: Stack | undefined;
  let migrations = 0;

  /** One `up` under load: its duration, failed requests and latency go into the figures. */
  let current = 3;
  const measure = async (name: string, replicas: number, note: string, newImage = false) => {
    if (newImage) {
      migrations++;
      addMigration(
        programDir,
        `19000000000${String(migrations).padStart(2, "0")}_bench-rollout`,
        `CREATE TABLE bench_rollout_${migrations} (id integer PRIMARY KEY);`,
      );
    }
    const load = infoLoad(stack!.url, RATE);
    const watch = new UpstreamWatch(STACK, stack!.container("nginx"));
    const start = Date.now();
    let error: unknown;
    try {
      stack = await upStack(STACK, { ...CONFIG, replicas: String(replicas) }, programDir);
    } catch (e) {
      error = e;
    }
    const seconds = (Date.now() - start) / 1000;
    await new Promise((r) => setTimeout(r, 2_000));
    const result = await load.stop();
    // No sample may have fewer healthy replicas in nginx than the smaller count.
    const floor = Math.min(current, replicas);
    const { violations, minCapacity, shortfalls, samples } = await watch.stop(floor);
    current = replicas;
    if (error !== undefined) throw error;
    const ms = latency(result);
    figures.push({
      name,
      value: `${seconds.toFixed(1)} s`,
      note,
    });
    figures.push({
      name: `${name}: failed requests`,
      value: `${result.failed} of ${result.sent}`,
      note: `${RATE} req/s through nginx; latency p50 ${ms.p50} ms, p99 ${ms.p99} ms, max ${ms.max} ms`,
    });
    figures.push({
      name: `${name}: nginx naming a replica not healthy`,
      value: `${violations.length} of ${samples.length} samples`,
      note: `fewest healthy replicas in nginx at any sample: ${minCapacity} (floor ${floor}); ${shortfalls.length} samples below the floor`,
    });
    for (const v of [...violations, ...shortfalls].slice(0, 5)) console.log(`  ${v}`);
    console.log(`${name}: ${seconds.toFixed(1)} s, ${result.failed}/${result.sent} failed`);
    for (const f of result.failures.slice(0, 10)) console.log(`  ${f}`);
  };

  try {
    if (only !== undefined) {
      stack = await upStack(STACK, { ...CONFIG, replicas: String(only) }, programDir);
      current = only;
      await measure(
        `rolling update, ${only} replicas`,
        only,
        "new app image with one migration, start-first",
        true,
      );
      for (const f of figures) console.log(`${f.name}: ${f.value} (${f.note})`);
      return;
    }
    const start = Date.now();
    stack = await upStack(STACK, { ...CONFIG, replicas: "3" }, programDir);
    figures.push({
      name: "first up, 3 replicas",
      value: `${((Date.now() - start) / 1000).toFixed(1)} s`,
      note: "images already built; followers created together once the leader is healthy (bench/first-up.ts has the series)",
    });
    await measure(
      "scale 3 → 5",
      5,
      "two replicas created together, each healthy, then nginx told in place",
    );
    await measure("scale 5 → 2", 2, "nginx told first, then three replicas stopped (15 s grace)");
    await measure("scale 2 → 3", 3, "one replica created");
    await measure(
      "rolling update, 3 replicas",
      3,
      "new app image with one migration, start-first: new leader migrates, then 2 new followers together; nginx told; old containers deleted last",
      true,
    );
    await measure("scale 3 → 10", 10, "seven replicas created together");
    await measure(
      "rolling update, 10 replicas",
      10,
      "new app image with one migration, start-first: new leader, then 9 new followers together; old ones deleted last",
      true,
    );
  } finally {
    await destroyStack(STACK, programDir).catch((e: unknown) => console.error(e));
    removeProgramCopy(programDir);
  }

  report(
    "Scaling and rolling updates",
    "npx tsx bench/scale.ts",
    figures,
    "Each figure is one `up` through the test engine (test/e2e/engine) on the real Docker engine, " +
      "timed from start to return, while a client sends GET /api/info through nginx at a steady " +
      "rate on a new connection each; a request fails on a network error, a status other than 200, " +
      "or a replica reporting its schema behind its image. Every 400 ms a watcher reads nginx's " +
      "upstream servers and the app containers' health: a sample where nginx names a container " +
      "that is not running and healthy counts as naming an unhealthy replica, and the fewest " +
      "healthy containers nginx names at any sample is the capacity (it must not fall below the " +
      "smaller of the replica counts before and after). The real `pulumi up` adds its own " +
      "start-up, diff and plugin time.",
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
