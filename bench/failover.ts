// Failover outage, lost writes and restart gaps: the failure drill of `npm run drill:failover`
// (ops/drill/) on a stack of its own (`bench-failover`, 127.0.0.1:18150, pgpool on 18151), first
// with synchronous replication (every scenario), then without it (the primary loss again: what
// an asynchronous standby loses). Needs the Docker engine and the base image; takes a few
// minutes.
//   npx tsx bench/failover.ts
import { runDrill, type DrillReport } from "../ops/drill/drill";
import { seconds } from "../ops/drill/report";
import type { ContainerLossResult } from "../ops/drill/scenarios";
import { findTarget } from "../ops/drill/target";
import { destroyStack, upStack } from "../ops/stack";
import { report, type Figure } from "./report";

const STACK = "bench-failover";
const CONFIG = {
  replicas: "2",
  httpPort: "18150",
  pgpoolPort: "18151",
  collectorIntervalSeconds: "0",
};

function primaryFigures(r: DrillReport, mode: string): Figure[] {
  const p = r.primaryLoss;
  if (p === undefined) return [];
  return [
    {
      name: `primary loss, ${mode}: write outage`,
      value: seconds(p.writeOutage),
      note: `last acknowledged write before the SIGKILL → first after, through pgpool; standby writable after ${seconds(p.promotedAfter)}; target < 5 s`,
    },
    {
      name: `primary loss, ${mode}: acknowledged writes lost`,
      value: `${p.lostWrites.length} of ${p.writesAcknowledged}`,
      note: "acknowledged inserts missing on the new primary afterwards",
    },
    {
      name: `primary loss, ${mode}: failed HTTP requests`,
      value: `${p.http.failed} of ${p.http.sent}`,
      note: `reads through nginx meanwhile; old primary back as ${p.oldPrimaryNow}, both nodes up in pgpool after ${seconds(p.rejoinedAfter)}`,
    },
  ];
}

function lossFigure(name: string, l: ContainerLossResult | undefined, note: string): Figure[] {
  if (l === undefined) return [];
  return [
    {
      name: `${name}: failed HTTP requests`,
      value: `${l.http.failed} of ${l.http.sent}`,
      note: `longest gap between successful requests ${seconds(l.http.gap)}; ${note}`,
    },
    {
      name: `${name}: restarted and healthy after`,
      value: seconds(l.healthyAfter),
      note:
        l.writeOutage !== undefined
          ? `write outage through pgpool ${seconds(l.writeOutage)}`
          : "Docker's restart policy",
    },
  ];
}

async function main(): Promise<void> {
  const figures: Figure[] = [];
  const log = (line: string) => console.log(`[drill] ${line}`);
  try {
    await upStack(STACK, { ...CONFIG, synchronousReplication: "true" });
    const sync = await runDrill(await findTarget(STACK), { log });
    figures.push(...primaryFigures(sync, "synchronous"));
    figures.push(...lossFigure("standby loss", sync.standbyLoss, "reads fall back to the primary"));
    figures.push(...lossFigure("app replica loss", sync.replicaLoss, "SIGKILL of app-1"));
    figures.push(...lossFigure("leader loss", sync.leaderLoss, "SIGKILL of app-0"));
    figures.push(...lossFigure("nginx loss", sync.nginxLoss, "the only entry point"));
    figures.push(...lossFigure("pgpool loss", sync.pgpoolLoss, "reads through nginx"));
    figures.push({
      name: "two writable nodes seen",
      value: `${sync.monitor.bothWritableAtMs.length} of ${sync.monitor.samples} samples`,
      note: `both nodes sampled every 200 ms for ${sync.monitor.seconds.toFixed(0)} s`,
    });

    await upStack(STACK, { ...CONFIG, synchronousReplication: "false" });
    const async = await runDrill(await findTarget(STACK), { scenarios: ["primary"], log });
    figures.push(...primaryFigures(async, "asynchronous"));

    const problems = [...sync.problems, ...async.problems];
    figures.push({
      name: "problems reported by the drill",
      value: String(problems.length),
      note:
        problems.join("; ").replace(/\|/g, "/") ||
        "one writable node throughout, converged after every failure",
    });
  } finally {
    await destroyStack(STACK).catch((e: unknown) => console.error(e));
  }

  report(
    "Failover and self-healing",
    "npx tsx bench/failover.ts",
    figures,
    "Each crash is a SIGKILL of the container's server process (Docker's restart policy reacts), " +
      "under 20 writes/s through pgpool's published port and steady GET /api/info through nginx. " +
      "pgpool health check: every 1 s, 2 retries 1 s apart. Stack: 2 app replicas, brought up " +
      "by the test engine (test/e2e/engine) on the real Docker engine.",
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
