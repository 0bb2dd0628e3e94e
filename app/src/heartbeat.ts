// Replicas report in through the database, so the status board works behind nginx without the
// Docker socket: every few seconds each replica upserts its row of app_replicas and records the
// pgpool node states it sees (pool_node_events, one row per distinct state, whoever saw it first).
import type { Queryable } from "./db.js";
import { schemaStatus } from "./migrate.js";

export interface PoolNode {
  node_id: string;
  hostname: string;
  port: string;
  status: string;
  pg_status: string;
  lb_weight: string;
  role: string;
  pg_role: string;
  select_cnt: string;
  load_balance_node: string;
  replication_delay: string;
  replication_state: string;
  replication_sync_state: string;
  last_status_change: string;
}

/**
 * pgpool's view of its backends (`SHOW pool_nodes`, answered by pgpool itself), or null when the
 * app talks to PostgreSQL directly (42704: PostgreSQL knows no setting `pool_nodes`).
 */
export async function readPoolNodes(db: Queryable): Promise<PoolNode[] | null> {
  try {
    return (await db.query<PoolNode>("SHOW pool_nodes")).rows;
  } catch (err) {
    if ((err as { code?: unknown }).code === "42704") return null;
    throw err;
  }
}

export interface Beat {
  replica: number;
  hostname: string;
  appRole: string;
  startedAt: Date;
  shippedMigrations: readonly string[];
}

/** One heartbeat: this replica's row, then the node states pgpool shows now. Writes; not retried. */
export async function heartbeat(db: Queryable, beat: Beat): Promise<void> {
  const schema = await schemaStatus(db, beat.shippedMigrations);
  await db.query(
    `INSERT INTO app_replicas (replica, hostname, app_role, schema_version, ready, started_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (replica) DO UPDATE SET hostname = EXCLUDED.hostname,
       app_role = EXCLUDED.app_role, schema_version = EXCLUDED.schema_version,
       ready = EXCLUDED.ready, started_at = EXCLUDED.started_at, last_seen = now()`,
    [beat.replica, beat.hostname, beat.appRole, schema.version, schema.upToDate, beat.startedAt],
  );
  const nodes = await readPoolNodes(db);
  if (!nodes || nodes.length === 0) return;
  await db.query(
    `INSERT INTO pool_node_events (node_id, hostname, port, status, role, last_status_change, seen_by)
     SELECT n.node_id, n.hostname, n.port, n.status, n.role, n.changed, $7
       FROM unnest($1::int[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[])
            AS n(node_id, hostname, port, status, role, changed)
     ON CONFLICT (node_id, status, role, last_status_change) DO NOTHING`,
    [
      nodes.map((n) => Number(n.node_id)),
      nodes.map((n) => n.hostname),
      nodes.map((n) => Number(n.port)),
      nodes.map((n) => n.status),
      nodes.map((n) => n.role),
      nodes.map((n) => n.last_status_change),
      beat.replica,
    ],
  );
}
