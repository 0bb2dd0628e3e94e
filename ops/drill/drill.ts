// Failure drills against a running ha-stack: crash a container the way a real fault does, keep
// clients busy while it happens, measure what they saw, and check that at no sampled instant two
// PostgreSQL nodes were writable. One implementation for test/e2e/failover.test.ts,
// bench/failover.ts and scripts/drill-failover.ts (`npm run drill:failover`). Destructive, and it
// must run on the Docker host, as root (see crash.ts).
//
// This file runs the scenarios one after another. Its parts: target.ts (finding the stack),
// crash.ts, database.ts (who is writable, what pgpool sees), monitor.ts (two writable nodes),
// writer.ts and http-load.ts (the clients), scenarios.ts, converge.ts and report.ts.
import { docker } from "../docker";
import { waitConverged, type ConvergedState } from "./converge";
import { currentPrimary } from "./database";
import { WritableMonitor, type MonitorReport } from "./monitor";
import { describeContainerLoss, describeMonitor, describePrimaryLoss } from "./report";
import {
  containerLoss,
  primaryLoss,
  type ContainerLossResult,
  type PrimaryLossResult,
} from "./scenarios";
import type { DrillTarget } from "./target";
import { dropWritesTable, WRITES_TABLE } from "./writer";

export const SCENARIOS = ["primary", "standby", "replica", "leader", "nginx", "pgpool"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface DrillReport {
  readonly stack: string;
  readonly synchronous: boolean;
  readonly primaryLoss?: PrimaryLossResult;
  /** After the primary loss (and `afterPrimaryLoss`): how long until converged, and the state. */
  readonly convergedAfterFailover?: { after: number | undefined; state: ConvergedState };
  readonly standbyLoss?: ContainerLossResult;
  readonly replicaLoss?: ContainerLossResult;
  readonly leaderLoss?: ContainerLossResult;
  readonly nginxLoss?: ContainerLossResult;
  readonly pgpoolLoss?: ContainerLossResult;
  /** The state at the end, after waiting for convergence. */
  readonly final: { after: number | undefined; state: ConvergedState };
  readonly monitor: MonitorReport;
  /** Everything that broke a promise of the stack; empty = the drill passed. */
  readonly problems: string[];
}

export interface DrillOptions {
  readonly scenarios?: readonly Scenario[];
  /** Runs right after the primary loss, before convergence is awaited (the test's `up`). */
  readonly afterPrimaryLoss?: () => Promise<void>;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** Writes per second through pgpool during the primary loss. @default 20 */
  readonly writeRate?: number;
}

/**
 * Runs the chosen scenarios one after another, each on a converged stack, with the two-writable
 * monitor on the whole time. Destructive: it kills containers of the stack. The drill's own
 * table (WRITES_TABLE) is dropped at the end.
 */
export async function runDrill(target: DrillTarget, opts: DrillOptions = {}): Promise<DrillReport> {
  const log = opts.log ?? (() => {});
  const scenarios = new Set(opts.scenarios ?? SCENARIOS);
  const problems: string[] = [];
  const pg0 = await docker.getContainer(target.containers["pg-0"]).inspect();
  const synchronous = (pg0.Config.Env ?? []).includes("PG_SYNCHRONOUS=on");
  const result: Record<string, unknown> = {};

  const start = await waitConverged(target, 120_000);
  if (start.after === undefined) {
    throw new Error(
      `stack "${target.stack}" is not converged before the drill: ${JSON.stringify(start.state)}`,
    );
  }
  const monitor = new WritableMonitor([target.containers["pg-0"], target.containers["pg-1"]], {
    maxSeconds: 1_800,
  });
  const converge = async (what: string) => {
    const c = await waitConverged(target, 180_000);
    if (c.after === undefined)
      problems.push(`${what}: the stack did not converge again: ${JSON.stringify(c.state)}`);
    return c;
  };
  try {
    if (scenarios.has("primary")) {
      log("primary loss: crashing the primary under writes through pgpool and reads through nginx");
      const r = await primaryLoss(target, { writeRate: opts.writeRate });
      result.primaryLoss = r;
      describePrimaryLoss(r).forEach((l) => log(l));
      if (synchronous && r.lostWrites.length > 0) {
        problems.push(
          `primary loss: ${r.lostWrites.length} acknowledged writes lost with synchronous replication on`,
        );
      }
      if (r.oldPrimaryNow === "primary")
        problems.push(`primary loss: ${r.failed} came back writable`);
      if (opts.afterPrimaryLoss) await opts.afterPrimaryLoss();
      result.convergedAfterFailover = await converge("after the primary loss");
    }
    const standby = async () => {
      const primary = await currentPrimary(target);
      return primary === "pg-0" ? "pg-1" : "pg-0";
    };
    const losses: [Scenario, string, () => Promise<string>, boolean][] = [
      ["standby", "standbyLoss", standby, true],
      [
        "replica",
        "replicaLoss",
        async () => (target.containers["app-1"] ? "app-1" : "app-0"),
        false,
      ],
      ["leader", "leaderLoss", async () => "app-0", false],
      ["nginx", "nginxLoss", async () => "nginx", false],
      ["pgpool", "pgpoolLoss", async () => "pgpool", true],
    ];
    for (const [scenario, key, pick, withWriter] of losses) {
      if (!scenarios.has(scenario)) continue;
      const node = await pick();
      log(`${scenario} loss: crashing ${node} under reads through nginx`);
      const r = await containerLoss(target, node, { withWriter });
      result[key] = r;
      describeContainerLoss(`${scenario} loss`, r).forEach((l) => log(l));
      if (r.healthyAfter === undefined)
        problems.push(`${scenario} loss: ${node} was not healthy again`);
      if (["standby", "replica", "leader"].includes(scenario) && r.http.failed > 0) {
        problems.push(
          `${scenario} loss: ${r.http.failed} failed client requests (${r.http.failures[0]})`,
        );
      }
      await converge(`after the ${scenario} loss`);
    }
  } finally {
    result.monitor = await monitor.stop();
  }
  const final = await waitConverged(target, 60_000);
  if (final.after === undefined)
    problems.push(`at the end: not converged: ${JSON.stringify(final.state)}`);
  await dropWritesTable(target).catch((e: Error) =>
    log(`could not drop ${WRITES_TABLE}: ${e.message}`),
  );
  const m = result.monitor as MonitorReport;
  log(describeMonitor(m));
  if (m.bothWritableAtMs.length > 0)
    problems.push(`two writable nodes at ${m.bothWritableAtMs.length} samples`);
  return {
    stack: target.stack,
    synchronous,
    ...result,
    final,
    monitor: m,
    problems,
  } as DrillReport;
}
