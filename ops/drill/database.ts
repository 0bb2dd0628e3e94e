// Looking at the database tier: which PostgreSQL node is writable, and what pgpool thinks.
import { exec, psql } from "../docker";
import { withTimeout } from "../poll";
import type { DrillTarget } from "./target";

/** true = writable primary, false = standby, undefined = not answering. */
export async function isWritable(container: string): Promise<boolean | undefined> {
  try {
    const rows = await withTimeout(
      psql(container, "SELECT pg_is_in_recovery()", "postgres"),
      3_000,
    );
    const value = rows[0]?.[0];
    return value === "f" ? true : value === "t" ? false : undefined;
  } catch {
    return undefined;
  }
}

export interface PoolNode {
  readonly host: string;
  readonly status: string;
  readonly role: string;
}

/** pgpool's `SHOW pool_nodes`, asked inside the pgpool container as the pgpool role. */
export async function poolNodes(target: DrillTarget): Promise<PoolNode[]> {
  const out = await withTimeout(
    exec(
      target.containers.pgpool,
      [
        "psql",
        "host=127.0.0.1 port=9999 user=pgpool dbname=postgres connect_timeout=3",
        "-AXq",
        "-F",
        "|",
        "-P",
        "footer=off",
        "-c",
        "SHOW pool_nodes",
      ],
      "postgres",
    ),
    8_000,
  );
  const [header, ...rows] = out.split("\n").filter((l) => l !== "");
  const columns = header.split("|");
  const at = (name: string) => columns.indexOf(name);
  return rows.map((row) => {
    const f = row.split("|");
    return { host: f[at("hostname")], status: f[at("status")], role: f[at("role")] };
  });
}

/** The pg node that answers as writable now, if exactly one does. */
export async function currentPrimary(target: DrillTarget): Promise<"pg-0" | "pg-1" | undefined> {
  const [a, b] = await Promise.all([
    isWritable(target.containers["pg-0"]),
    isWritable(target.containers["pg-1"]),
  ]);
  if (a === true && b !== true) return "pg-0";
  if (b === true && a !== true) return "pg-1";
  return undefined;
}

/** pgpool has both nodes up and `primary` as its one primary. */
export function poolAgrees(nodes: readonly PoolNode[], primary: string | undefined): boolean {
  return (
    nodes.length === 2 &&
    nodes.every((n) => n.status === "up") &&
    nodes
      .filter((n) => n.role === "primary")
      .map((n) => n.host)
      .join() === primary
  );
}

/** pgpool sees `primary` as its one up primary and every node up. */
export async function poolConverged(target: DrillTarget, primary: string): Promise<boolean> {
  return poolAgrees(await poolNodes(target), primary);
}
