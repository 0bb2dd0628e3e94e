// The drill's scenarios: the primary lost under writes and reads, and any other container lost
// under reads (plus writes through pgpool where asked), each measured from the crash.
import { setTimeout as sleep } from "node:timers/promises";
import { logs } from "../docker";
import { poll } from "../poll";
import { crash, waitRestartedHealthy, type Crash } from "./crash";
import { currentPrimary, isWritable, poolConverged } from "./database";
import { httpLoad, httpSummary, type HttpSummary } from "./http-load";
import type { DrillTarget } from "./target";
import { createWritesTable, firstAckAfter, missingWrites, Writer, writeOutage } from "./writer";

export interface PrimaryLossResult {
  readonly failed: string;
  readonly survivor: string;
  readonly crashed: Crash;
  /** Seconds from the crash until the survivor answered as writable. */
  readonly promotedAfter: number | undefined;
  /** Last acknowledged write before the crash → first after, seconds. */
  readonly writeOutage: number | undefined;
  /** Seconds from the crash to the first write sent and acknowledged after it. */
  readonly firstWriteAfter: number | undefined;
  readonly writesAcknowledged: number;
  readonly writesFailed: number;
  /** Acknowledged writes missing on the new primary. */
  readonly lostWrites: number[];
  readonly http: HttpSummary;
  /** Seconds from the crash until pgpool showed both nodes up again (the old primary rejoined). */
  readonly rejoinedAfter: number | undefined;
  /** How the old primary came back: its entrypoint's decision, from its log. */
  readonly rejoin: string;
  /** What the old primary is now: standby, primary (a second writer!), or down. */
  readonly oldPrimaryNow: "standby" | "primary" | "down";
}

/**
 * Crashes the primary while a writer inserts through pgpool and clients read through nginx,
 * then waits for the promotion, the first write after it, and the old primary's return as a
 * standby (Docker restarts it; its entrypoint fences it), up to `rejoinTimeoutMs`.
 */
export async function primaryLoss(
  target: DrillTarget,
  opts: { writeRate?: number; httpRate?: number; rejoinTimeoutMs?: number } = {},
): Promise<PrimaryLossResult> {
  const failed = await currentPrimary(target);
  if (failed === undefined) throw new Error("primary loss: no single writable node to crash");
  const survivor = failed === "pg-0" ? "pg-1" : "pg-0";
  if ((await isWritable(target.containers[survivor])) !== false) {
    throw new Error(`primary loss: ${survivor} is not a running standby`);
  }
  await createWritesTable(target);
  const writer = new Writer(target, {
    ratePerSecond: opts.writeRate ?? 20,
    maxWrites: 20_000,
    maxSeconds: 300,
  });
  const httpStarted = Date.now();
  const http = httpLoad(target, { ratePerSecond: opts.httpRate ?? 10, maxSeconds: 300 });
  let crashed: Crash | undefined;
  try {
    if (!(await writer.more(20, 20_000)))
      throw new Error("primary loss: the writer is not writing");
    crashed = await crash(target.containers[failed]);
    const killedAt = crashed.at;
    const promotedAt = await poll(
      async () => ((await isWritable(target.containers[survivor])) ? Date.now() : undefined),
      60_000,
      100,
    );
    await writer.more(1, 60_000);
    const rejoinedAt = await poll(
      async () => ((await poolConverged(target, survivor)) ? Date.now() : undefined),
      opts.rejoinTimeoutMs ?? 150_000,
      500,
    );
    await writer.more(20, 20_000);
    const writes = await writer.stop();
    const load = await http.stop();
    const newPrimary = await currentPrimary(target);
    const lostWrites = await missingWrites(target.containers[newPrimary ?? survivor], writes);
    const oldState = await isWritable(target.containers[failed]);
    return {
      failed,
      survivor,
      crashed,
      promotedAfter: promotedAt === undefined ? undefined : (promotedAt - killedAt) / 1000,
      writeOutage: writeOutage(writes.acknowledged, killedAt),
      firstWriteAfter: firstAckAfter(writes.acknowledged, killedAt),
      writesAcknowledged: writes.acknowledged.length,
      writesFailed: writes.failures,
      lostWrites,
      http: httpSummary(load, httpStarted, killedAt),
      rejoinedAfter: rejoinedAt === undefined ? undefined : (rejoinedAt - killedAt) / 1000,
      rejoin: entrypointDecision(await logs(target.containers[failed]).catch(() => ""), failed),
      oldPrimaryNow: oldState === undefined ? "down" : oldState ? "primary" : "standby",
    };
  } finally {
    await writer.stop();
    await http.stop();
  }
}

/** The pg-entrypoint decisions of the container's latest start, in one line. */
export function entrypointDecision(log: string, node: string): string {
  const lastRun = log.slice(Math.max(0, log.lastIndexOf(`pg-entrypoint: node ${node},`)));
  const lines = lastRun
    .split("\n")
    .filter((l) => /pg-entrypoint: (case \d|pg_rewind|base backup|starting as|FATAL)/.test(l))
    .map((l) => l.replace(/^.*pg-entrypoint: /, "").trim());
  return lines.length > 0 ? lines.join(" → ") : "no pg-entrypoint decision logged";
}

export interface ContainerLossResult {
  readonly node: string;
  readonly crashed: Crash;
  /** Seconds from the crash until Docker had restarted it and it was healthy again. */
  readonly healthyAfter: number | undefined;
  readonly http: HttpSummary;
  /** For pgpool: the write outage through pgpool. */
  readonly writeOutage?: number | undefined;
  readonly writesFailed?: number;
}

/**
 * Crashes `node` (an app replica, nginx, pgpool or the standby) under steady reads through nginx
 * (and writes through pgpool when `withWriter`), waits for Docker to restart it and for it to be
 * healthy, keeps the load on a few seconds more, and reports what clients saw.
 */
export async function containerLoss(
  target: DrillTarget,
  node: string,
  opts: {
    httpRate?: number;
    withWriter?: boolean;
    healthyTimeoutMs?: number;
    probeTimeoutMs?: number;
  } = {},
): Promise<ContainerLossResult> {
  const container = target.containers[node];
  if (container === undefined) throw new Error(`no container for node ${node}`);
  let writer: Writer | undefined;
  if (opts.withWriter) {
    await createWritesTable(target);
    writer = new Writer(target, { ratePerSecond: 20, maxWrites: 10_000, maxSeconds: 240 });
  }
  const httpStarted = Date.now();
  const http = httpLoad(target, { ratePerSecond: opts.httpRate ?? 20, maxSeconds: 240 });
  try {
    await sleep(2_000);
    if (writer && !(await writer.more(10, 20_000))) throw new Error(`${node} loss: writer idle`);
    const crashed = await crash(container);
    const healthyAt = await waitRestartedHealthy(crashed, opts.healthyTimeoutMs ?? 120_000);
    // Clients keep going a little after the container is back.
    await sleep(3_000);
    if (writer) await writer.more(10, 30_000);
    const load = await http.stop();
    const writes = await writer?.stop();
    return {
      node,
      crashed,
      healthyAfter: healthyAt === undefined ? undefined : (healthyAt - crashed.at) / 1000,
      http: httpSummary(load, httpStarted, crashed.at),
      ...(writes
        ? {
            writeOutage: writeOutage(writes.acknowledged, crashed.at),
            writesFailed: writes.failures,
          }
        : {}),
    };
  } finally {
    await http.stop();
    await writer?.stop();
  }
}
