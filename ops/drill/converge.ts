// Whether the stack is whole again after a failure: one primary, the standby streaming, pgpool
// agreeing with both nodes up, every container healthy, and a write through pgpool succeeding.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { psql, stackContainers } from "../docker";
import { currentPrimary, poolAgrees, poolNodes, type PoolNode } from "./database";
import type { DrillTarget } from "./target";
import { connectPgpool, createWritesTable, WRITES_TABLE } from "./writer";

export interface ConvergedState {
  readonly primary: string | undefined;
  readonly standbyStreaming: boolean;
  readonly poolNodes: PoolNode[];
  readonly unhealthy: string[];
  /** A write through pgpool succeeded. */
  readonly writable: boolean;
}

/** The stack's state now: who is primary, whether the pair streams, pgpool's view, health. */
export async function convergedState(target: DrillTarget): Promise<ConvergedState> {
  const primary = await currentPrimary(target);
  let standbyStreaming = false;
  if (primary !== undefined) {
    const standby = primary === "pg-0" ? "pg_1" : "pg_0";
    const rows = await psql(
      target.containers[primary],
      `SELECT state FROM pg_stat_replication WHERE application_name = '${standby}'`,
      "postgres",
    ).catch(() => []);
    standbyStreaming = rows[0]?.[0] === "streaming";
  }
  const nodes = await poolNodes(target).catch(() => []);
  const unhealthy = (await stackContainers(target.stack))
    .filter((c) => c.state !== "running" || (c.health !== undefined && c.health !== "healthy"))
    .map((c) => `${c.node}: ${c.state}${c.health ? `/${c.health}` : ""}`);
  let writable = false;
  try {
    await createWritesTable(target);
    const client = await connectPgpool(target);
    try {
      await client.query(`INSERT INTO ${WRITES_TABLE} (run, n) VALUES ($1, 1)`, [
        `c-${randomBytes(4).toString("hex")}`,
      ]);
      writable = true;
    } finally {
      await client.end().catch(() => {});
    }
  } catch {
    writable = false;
  }
  return { primary, standbyStreaming, poolNodes: nodes, unhealthy, writable };
}

/** Converged: one primary, the standby streams, pgpool has both up and that primary, all healthy, writable. */
export function isConverged(state: ConvergedState): boolean {
  return (
    state.primary !== undefined &&
    state.standbyStreaming &&
    poolAgrees(state.poolNodes, state.primary) &&
    state.unhealthy.length === 0 &&
    state.writable
  );
}

/** Polls until the stack is converged (see isConverged); seconds it took, or undefined. */
export async function waitConverged(
  target: DrillTarget,
  timeoutMs: number,
): Promise<{ after: number | undefined; state: ConvergedState }> {
  const started = Date.now();
  let state = await convergedState(target);
  while (!isConverged(state) && Date.now() - started < timeoutMs) {
    await sleep(1_000);
    state = await convergedState(target);
  }
  return { after: isConverged(state) ? (Date.now() - started) / 1000 : undefined, state };
}
