// A rolling update of N replicas under steady load, through the real Pulumi engine
// (ops/stack.ts: Automation API, inline program): first up with N replicas, then a new app image
// (one more migration) rolled start-first, `--batch` containers at a time, while a client sends
// GET /api/info through nginx at 20 req/s on a new connection each (and for 30 s before it, with
// nothing changing, to tell a failed roll from a host that cannot carry N replicas). Prints
//   roll N replicas: T s, batch B, failed F of S requests, below capacity M samples, …
// and exits non-zero when the roll fails: the `up` fails, a request fails, nginx names a replica
// that is not healthy, fewer than N healthy replicas are in nginx at a sample, or more than
// N + B app containers run at once. Writes its figures to BENCHMARKS.md, a section per replica
// count ("Rolling update, N replicas"). Needs the Docker engine and the base image.
//   npm run bench:scale -- --replicas 10 [--batch 2] [--stack bench-scale] [--port 18131]
import { setTimeout as sleep } from "node:timers/promises";
import type { LoadReport } from "../ops/http";
import {
  addMigration,
  copyProgram,
  infoLoad,
  latency,
  removeProgramCopy,
  UpstreamWatch,
  type UpstreamReport,
} from "../ops/rollout";
import { rollBatch } from "../components/connections";
import { destroyStack, upStack, type Stack } from "../ops/stack";
import { report } from "./report";

const RATE = 20;
/** Seconds of load on the stack as it is, before the roll. */
const STEADY_SECONDS = 30;

/** `--name value` as a whole number in [min, max], or `fallback` when absent. */
function intArg(name: string, fallback: number, min: number, max: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const n = Number(process.argv[at + 1]);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`--${name} takes a whole number ${min}–${max}, got ${process.argv[at + 1]}`);
  }
  return n;
}

function textArg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : (process.argv[at + 1] ?? fallback);
}

/**
 * GET /api/info through the stack's nginx at RATE req/s, and nginx's upstreams watched, while
 * `during` runs; what the client and the watcher saw (capacity counted against `replicas`).
 */
async function underLoad(
  stackName: string,
  stack: Stack,
  replicas: number,
  during: () => Promise<unknown>,
): Promise<{ load: LoadReport; watch: UpstreamReport; ms: ReturnType<typeof latency> }> {
  const load = infoLoad(stack.url, RATE);
  const watch = new UpstreamWatch(stackName, stack.container("nginx"));
  await during();
  const report = await load.stop();
  return { load: report, watch: await watch.stop(replicas), ms: latency(report) };
}

async function main(): Promise<number> {
  const replicas = intArg("replicas", 3, 1, 32);
  const batch = intArg("batch", 1, 1, 32);
  const port = intArg("port", 18131, 1024, 65535);
  const stackName = textArg("stack", "bench-scale");
  // adminUi off: Adminer publishes a fixed host port (8081) that another stack may hold.
  const config = {
    httpPort: String(port),
    collectorIntervalSeconds: "0",
    adminUi: "false",
    lbAlgorithm: "round_robin",
    replicas: String(replicas),
    // pgpool sized for this stack (at least the default), as a user scaling to N would set it.
    maxReplicas: String(Math.max(replicas, 10)),
    rolloutBatch: String(batch),
  };
  const programDir = copyProgram();
  try {
    let start = Date.now();
    let stack = await upStack(stackName, config, programDir);
    const firstUp = (Date.now() - start) / 1000;
    console.log(`first up, ${replicas} replicas: ${firstUp.toFixed(1)} s`);

    // The steady state first: the same load for STEADY_SECONDS with nothing changing, so a
    // failed roll can be told apart from a host that cannot carry N replicas at all.
    const steady = await underLoad(stackName, stack, replicas, () => sleep(STEADY_SECONDS * 1000));
    console.log(
      `steady ${replicas} replicas, ${STEADY_SECONDS} s: failed ${steady.load.failed} of ` +
        `${steady.load.sent} requests, below capacity ${steady.watch.shortfalls.length} samples, ` +
        `unhealthy in nginx ${steady.watch.violations.length} samples (of ` +
        `${steady.watch.samples.length}), latency p50 ${steady.ms.p50} ms p99 ${steady.ms.p99} ms`,
    );

    addMigration(
      programDir,
      "1900000000001_bench-rollout",
      "CREATE TABLE bench_rollout (id integer PRIMARY KEY);",
    );
    start = Date.now();
    let error: unknown;
    let seconds = 0;
    const roll = await underLoad(stackName, stack, replicas, async () => {
      try {
        stack = await upStack(stackName, config, programDir);
      } catch (e) {
        error = e;
      }
      seconds = (Date.now() - start) / 1000;
      // Requests sent just before `up` returned are still on their way.
      await sleep(2_000);
    });
    const result = roll.load;
    const { violations, shortfalls, minCapacity, maxRunning, samples } = roll.watch;
    const ms = roll.ms;
    const used = rollBatch(replicas, batch);
    console.log(
      `roll ${replicas} replicas: ${seconds.toFixed(1)} s, batch ${used}, ` +
        `failed ${result.failed} of ${result.sent} requests, ` +
        `below capacity ${shortfalls.length} samples, ` +
        `unhealthy in nginx ${violations.length} samples (of ${samples.length}), ` +
        `fewest healthy in nginx ${minCapacity}, most app containers at once ${maxRunning} ` +
        `(bound ${replicas + used}), latency p50 ${ms.p50} ms p99 ${ms.p99} ms max ${ms.max} ms`,
    );
    for (const line of [...violations, ...shortfalls].slice(0, 5)) console.log(`  ${line}`);
    for (const failure of result.failures.slice(0, 10)) console.log(`  ${failure}`);
    const failed =
      error !== undefined ||
      steady.load.failed > 0 ||
      steady.watch.shortfalls.length > 0 ||
      steady.watch.violations.length > 0 ||
      result.failed > 0 ||
      shortfalls.length > 0 ||
      violations.length > 0 ||
      maxRunning > replicas + used;
    report(
      `Rolling update, ${replicas} replicas`,
      `npm run bench:scale -- ${process.argv.slice(2).join(" ")}`,
      [
        { name: `first up, ${replicas} replicas`, value: `${firstUp.toFixed(1)} s` },
        {
          name: `steady state before the roll, ${STEADY_SECONDS} s: failed requests`,
          value: `${steady.load.failed} of ${steady.load.sent}`,
          note:
            `below capacity / naming an unhealthy replica: ${steady.watch.shortfalls.length} / ` +
            `${steady.watch.violations.length} of ${steady.watch.samples.length} samples; p50 ` +
            `${steady.ms.p50} ms, p99 ${steady.ms.p99} ms`,
        },
        {
          name: `roll, batch ${used}`,
          value: `${seconds.toFixed(1)} s`,
          note: error === undefined ? "the up succeeded" : `the up failed: ${String(error)}`,
        },
        {
          name: "failed requests",
          value: `${result.failed} of ${result.sent}`,
          note: `p50 ${ms.p50} ms, p99 ${ms.p99} ms, max ${ms.max} ms`,
        },
        {
          name: "samples below capacity / naming an unhealthy replica",
          value: `${shortfalls.length} / ${violations.length} of ${samples.length}`,
          note: `fewest healthy replicas in nginx at any sample: ${minCapacity}`,
        },
        {
          name: "most app containers at once",
          value: String(maxRunning),
          note: `bound replicas + batch = ${replicas + used}`,
        },
      ],
      `${failed ? "FAILED" : "Passed"}. A new app image (one more migration) rolled start-first ` +
        `under GET /api/info through nginx at ${RATE} req/s, a new connection each; a watcher ` +
        "samples nginx's upstreams and the app containers every 400 ms (see \"Scaling and " +
        'rolling updates" for what each figure counts).',
    );
    if (error !== undefined) console.error("the roll's up failed:", error);
    return failed ? 1 : 0;
  } finally {
    await destroyStack(stackName, programDir).catch((e: unknown) => console.error(e));
    removeProgramCopy(programDir);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
