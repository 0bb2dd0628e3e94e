// The primary's loss, repeated: on a stack of its own with synchronous replication, SIGKILLs the
// current primary's postgres `--runs` times (default 5) while a client writes through pgpool's
// published port every 50 ms, and after each run waits for the old primary to rejoin as a
// standby. Prints a timeline per run from the containers' log timestamps (detection by pgpool,
// promotion, pgpool's switch, the client's first acknowledged write) and
//   median outage X s (min, max), lost L of N acknowledged
// where the outage is the longest wait between two acknowledged writes from the last one before
// the kill on (a killed postmaster's backends may still acknowledge one for a moment). Exits
// non-zero when a write is lost, a run does not converge, or a run finds two writable nodes.
// Through the real Pulumi engine (ops/stack.ts). Needs the Docker engine and the base image.
//   npm run bench:failover -- --runs 5 [--sizes 10:1,32:16] [--stack bench-failover] [--port 18150] [--trace]
// --sizes: one stack per maxReplicas:rolloutBatch pair (default 10:1, the config's defaults), one
// after the other in this run, since pgpool restarts every child it has during a failover
// (32:16 is the sizing every stack had before maxReplicas: 293 children).
// --trace prints pgpool's and the survivor's log lines from each kill to the first write.
// Writes its figures to BENCHMARKS.md ("Failover: repeated primary kills").
import { connectionBudget } from "../components/connections";
import { docker } from "../ops/docker";
import { findTarget } from "../ops/drill/target";
import { primaryLoss, type PrimaryLossResult } from "../ops/drill/scenarios";
import { destroyStack, upStack } from "../ops/stack";
import { median, report, type Figure } from "./report";

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : (process.argv[at + 1] ?? fallback);
}

/** A container's log lines since `sinceMs`, each with Docker's timestamp in ms. */
async function timedLines(container: string, sinceMs: number): Promise<[number, string][]> {
  const buffer = (await docker.getContainer(container).logs({
    stdout: true,
    stderr: true,
    follow: false,
    timestamps: true,
    since: Math.floor(sinceMs / 1000) - 1,
  })) as unknown as Buffer;
  const lines: [number, string][] = [];
  // Multiplexed stream: an 8-byte header per frame.
  for (let at = 0; at + 8 <= buffer.length;) {
    const size = buffer.readUInt32BE(at + 4);
    const text = buffer.subarray(at + 8, at + 8 + size).toString("utf8");
    at += 8 + size;
    for (const line of text.split("\n")) {
      const m = /^(\S+) (.*)$/.exec(line);
      if (m) lines.push([Date.parse(m[1]), m[2]]);
    }
  }
  return lines;
}

/** Seconds after `from` of the first line at or after it matching `re`. */
function firstAfter(lines: [number, string][], from: number, re: RegExp): number | undefined {
  const hit = lines.find(([t, text]) => t >= from && re.test(text));
  return hit === undefined ? undefined : (hit[0] - from) / 1000;
}

const s = (v: number | undefined) => (v === undefined ? "—" : `${v.toFixed(2)} s`);

/** Every line pgpool and the survivor wrote from the kill to the first acknowledged write. */
function printTrace(
  at: number,
  r: PrimaryLossResult,
  pgpool: [number, string][],
  survivor: [number, string][],
): void {
  const until = at + 1000 * ((r.firstWriteAfter ?? 5) + 0.2);
  const lines = [
    ...pgpool.map(([t, text]) => [t, `pgpool   ${text}`] as const),
    ...survivor.map(([t, text]) => [t, `${r.survivor}     ${text}`] as const),
  ]
    .filter(([t]) => t >= at && t <= until)
    .sort((a, b) => a[0] - b[0]);
  for (const [t, text] of lines) console.log(`  +${String(t - at).padStart(5)} ms ${text}`);
}

/** A run's phases (ms after the kill, from the logs) and its outcome, as two lines of text. */
async function timeline(
  containers: Readonly<Record<string, string>>,
  r: PrimaryLossResult,
): Promise<{ phases: string; outcome: string }> {
  const at = r.crashed.at;
  const pgpool = await timedLines(containers.pgpool, at);
  const survivor = await timedLines(containers[r.survivor], at);
  // Sessions see their backend gone; pgpool's main process takes the failover request (from a
  // session's failed connect or the health check); the failover command promotes; pgpool has
  // the new primary; the client's first write is acknowledged.
  const eof = firstAfter(pgpool, at, /unable to read data from DB node|EOF encountered/);
  const detected = firstAfter(pgpool, at, /has received failover request/);
  const promoting = firstAfter(pgpool, at, /pgpool-failover: promoting/);
  const promoted = firstAfter(survivor, at, /database system is ready to accept connections/);
  const failoverDone = firstAfter(pgpool, at, /=== Failover done/);
  if (process.argv.includes("--trace")) printTrace(at, r, pgpool, survivor);
  return {
    phases:
      `kill ${r.failed} → sessions see EOF ${s(eof)}, failover requested ${s(detected)}, ` +
      `promoting ${s(promoting)}, ` +
      `${r.survivor} accepts writes ${s(promoted)} (writable seen ${s(r.promotedAfter)}), ` +
      `pgpool switched ${s(failoverDone)}, first write acknowledged ${s(r.firstWriteAfter)}`,
    outcome:
      `outage ${s(r.writeOutage)}, lost ${r.lostWrites.length} of ${r.writesAcknowledged}, ` +
      `old primary ${r.oldPrimaryNow} (${r.rejoin}), rejoined after ${s(r.rejoinedAfter)}`,
  };
}

interface Sizing {
  readonly maxReplicas: number;
  readonly rolloutBatch: number;
}

interface SizingResult {
  readonly outages: number[];
  readonly lost: number;
  readonly acknowledged: number;
  readonly bad: number;
  readonly phases: string[];
}

/** `runs` primary kills on a stack of its own sized `sizing`, destroyed afterwards. */
async function killRuns(
  stackName: string,
  port: number,
  sizing: Sizing,
  runs: number,
): Promise<SizingResult> {
  const config = {
    replicas: "2",
    maxReplicas: String(sizing.maxReplicas),
    rolloutBatch: String(sizing.rolloutBatch),
    httpPort: String(port),
    pgpoolPort: String(port + 1),
    collectorIntervalSeconds: "0",
    adminUi: "false",
    synchronousReplication: "true",
  };
  const outages: number[] = [];
  const phases: string[] = [];
  let lost = 0;
  let acknowledged = 0;
  let bad = 0;
  try {
    await upStack(stackName, config);
    for (let run = 1; run <= runs; run++) {
      const target = await findTarget(stackName);
      const r = await primaryLoss(target, { writeRate: 20, httpRate: 5 });
      const { phases: phase, outcome } = await timeline(target.containers, r);
      console.log(`run ${run}: ${phase}; ${outcome}`);
      phases.push(phase);
      if (r.writeOutage !== undefined) outages.push(r.writeOutage);
      lost += r.lostWrites.length;
      acknowledged += r.writesAcknowledged;
      if (r.writeOutage === undefined || r.rejoinedAfter === undefined) bad++;
      if (r.oldPrimaryNow === "primary") bad++;
    }
  } finally {
    await destroyStack(stackName).catch((e: unknown) => console.error(e));
  }
  return { outages, lost, acknowledged, bad, phases };
}

async function main(): Promise<number> {
  const runs = Number(arg("runs", "5"));
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) throw new Error("--runs takes 1–50");
  const sizes: Sizing[] = arg("sizes", "10:1")
    .split(",")
    .map((pair) => {
      const [maxReplicas, rolloutBatch] = pair.split(":").map(Number);
      if (!Number.isInteger(maxReplicas) || !Number.isInteger(rolloutBatch)) {
        throw new Error(
          `--sizes takes maxReplicas:rolloutBatch pairs, e.g. 10:1,32:16; got ${pair}`,
        );
      }
      return { maxReplicas, rolloutBatch };
    });
  const stackName = arg("stack", "bench-failover");
  const port = Number(arg("port", "18150"));
  const figures: Figure[] = [];
  let failed = false;
  for (const sizing of sizes) {
    const r = await killRuns(stackName, port, sizing, runs);
    const children = connectionBudget(sizing.maxReplicas, sizing.rolloutBatch).pgpoolChildren;
    const line =
      `median outage ${median(r.outages).toFixed(2)} s (${Math.min(...r.outages).toFixed(2)}, ` +
      `${Math.max(...r.outages).toFixed(2)}), lost ${r.lost} of ${r.acknowledged} acknowledged, ${runs} runs`;
    console.log(
      `maxReplicas ${sizing.maxReplicas}, rolloutBatch ${sizing.rolloutBatch} (${children} pgpool children): ${line}`,
    );
    figures.push({
      name: `maxReplicas ${sizing.maxReplicas}, rolloutBatch ${sizing.rolloutBatch}: ${children} pgpool children`,
      value: line,
      note: `outages ${r.outages.map((o) => o.toFixed(2)).join(", ")} s`,
    });
    r.phases.forEach((phase, i) =>
      figures.push({ name: `… run ${i + 1}`, value: phase.replace(/\|/g, "/") }),
    );
    failed ||= r.lost > 0 || r.bad > 0;
  }
  report(
    "Failover: repeated primary kills",
    `npm run bench:failover -- ${process.argv.slice(2).join(" ")}`,
    figures,
    "SIGKILL of the current primary's postgres, synchronous replication, a client inserting " +
      "through pgpool's published port every 50 ms; outage = the longest wait between two " +
      "acknowledged writes from the last one before the kill on. Each sizing on a stack of its " +
      "own, one after the other in this run. Phases from `docker logs --timestamps` of pgpool " +
      "and the survivor.",
  );
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
