// What the status board shows (/status, /api/status): every replica's heartbeat, pgpool's view of
// the database nodes, replication seen from the primary, the node-state history, the latest host
// metrics and the stack's config. Each part is read on its own: one that fails (a missing
// privilege, no pgpool in front) is reported as that part's error, the rest still shows.
import type { Config, StackInfo } from "./config.js";
import { errorSummary, type Queryable } from "./db.js";
import { readPoolNodes, type PoolNode } from "./heartbeat.js";
import { PRIMARY_ONLY } from "./users.js";

export type Part<T> = { ok: true; value: T } | { ok: false; error: string };

export interface ReplicaStatus {
  replica: number;
  hostname: string;
  appRole: string;
  schemaVersion: string | null;
  ready: boolean;
  startedAt: string;
  lastSeen: string;
  secondsAgo: number;
  /** up: ready and heard from lately; not ready; silent: no heartbeat for 3 intervals; removed: beyond STACK_REPLICAS. */
  health: "up" | "not ready" | "silent" | "removed";
}

export interface ReplicationStatus {
  timeline: number;
  standbys: {
    name: string;
    address: string | null;
    state: string | null;
    syncState: string | null;
    writeLag: string | null;
    flushLag: string | null;
    replayLag: string | null;
    replayLagBytes: number | null;
  }[];
}

export interface NodeEvent {
  nodeId: number;
  node: string;
  status: string;
  role: string;
  /** pgpool's last_status_change of that state. */
  at: string;
  /** first seen, promoted to primary, became standby, detached, attached. */
  what: string;
  seenBy: number;
}

export interface MetricsPoint {
  at: string;
  load1: number;
  memUsed: number;
}

/** One base backup as the backup container reports it (pgbackrest info, in short). */
export interface BackupEntry {
  label: string;
  type: string;
  start: string;
  stop: string;
  /** Bytes of database the backup covers, and what it takes in the repository (compressed). */
  size: number;
  repoSize: number;
}

export interface BackupStatus {
  /** The newest backup, or null when there is none. */
  last: BackupEntry | null;
  /** Backups in the repository (full and differential). */
  count: number;
  /** From the end of the oldest backup to the last commit in the archive; nulls when unknown. */
  window: { earliest: string | null; latest: string | null };
  /** When the backup container last wrote its report; null: it never did (no backup container). */
  reportedAt: string | null;
  /** pg_stat_archiver on the primary: how WAL archiving goes. */
  archiver: {
    archivedCount: number;
    lastArchivedWal: string | null;
    lastArchivedAt: string | null;
    failedCount: number;
    lastFailedWal: string | null;
    lastFailedAt: string | null;
  };
}

export interface Status {
  servedBy: { replica: number; hostname: string };
  stack: StackInfo;
  replicas: Part<ReplicaStatus[]>;
  poolNodes: Part<PoolNode[] | null>;
  replication: Part<ReplicationStatus>;
  events: Part<NodeEvent[]>;
  metrics: Part<MetricsPoint[]>;
  backups: Part<BackupStatus>;
}

const ISO = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** How many heartbeat intervals without one make a replica silent. */
const SILENT_AFTER_BEATS = 3;

async function readReplicas(db: Queryable, config: Config): Promise<ReplicaStatus[]> {
  const { rows } = await db.query<Omit<ReplicaStatus, "health">>(
    `${PRIMARY_ONLY} SELECT replica, hostname, app_role AS "appRole",
            schema_version AS "schemaVersion", ready, ${ISO("started_at")} AS "startedAt",
            ${ISO("last_seen")} AS "lastSeen",
            round(extract(epoch FROM now() - last_seen))::int AS "secondsAgo"
       FROM app_replicas ORDER BY replica`,
  );
  const silentAfter = SILENT_AFTER_BEATS * Math.max(config.heartbeatIntervalSeconds, 5);
  const replicas = config.stack.replicas;
  return rows.map((r) => ({
    ...r,
    health:
      replicas !== null && r.replica >= replicas
        ? "removed"
        : r.secondsAgo > silentAfter
          ? "silent"
          : r.ready
            ? "up"
            : "not ready",
  }));
}

/**
 * pg_stat_replication on the primary (volatile functions and the hint keep it there). Its lag
 * and state columns are NULL unless the app's role has pg_monitor; the timeline is the
 * primary's current one, from the name of its WAL file.
 */
async function readReplication(db: Queryable): Promise<ReplicationStatus> {
  const [timeline, standbys] = await Promise.all([
    db.query<{ timeline: number }>(
      `${PRIMARY_ONLY} SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int AS timeline`,
    ),
    db.query<ReplicationStatus["standbys"][number]>(
      `${PRIMARY_ONLY} SELECT application_name AS name, host(client_addr) AS address, state,
              sync_state AS "syncState", write_lag::text AS "writeLag",
              flush_lag::text AS "flushLag", replay_lag::text AS "replayLag",
              pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS "replayLagBytes"
         FROM pg_stat_replication ORDER BY application_name`,
    ),
  ]);
  return { timeline: timeline.rows[0]?.timeline ?? 0, standbys: standbys.rows };
}

/** The newest `limit` node states, newest first, each named by what changed from the one before. */
async function readEvents(db: Queryable, limit = 20): Promise<NodeEvent[]> {
  const { rows } = await db.query<
    Omit<NodeEvent, "what"> & { previousRole: string | null; previousStatus: string | null }
  >(
    `${PRIMARY_ONLY} SELECT * FROM (
       SELECT node_id AS "nodeId", hostname || ':' || port AS node, status, role,
              last_status_change AS at, seen_by AS "seenBy", id,
              lag(role) OVER w AS "previousRole", lag(status) OVER w AS "previousStatus"
         FROM pool_node_events WINDOW w AS (PARTITION BY node_id ORDER BY id)
     ) e ORDER BY id DESC LIMIT $1`,
    [limit],
  );
  return rows.map(({ previousRole, previousStatus, ...e }) => ({
    nodeId: e.nodeId,
    node: e.node,
    status: e.status,
    role: e.role,
    at: e.at,
    seenBy: e.seenBy,
    what: describeChange(previousRole, previousStatus, e.role, e.status),
  }));
}

export function describeChange(
  previousRole: string | null,
  previousStatus: string | null,
  role: string,
  status: string,
): string {
  if (previousRole === null) return "first seen";
  if (role !== previousRole) return role === "primary" ? "promoted to primary" : `became ${role}`;
  if (status !== previousStatus) return status === "down" ? "detached" : `attached (${status})`;
  return "state renewed";
}

async function readMetrics(db: Queryable, points = 60): Promise<MetricsPoint[]> {
  const { rows } = await db.query<MetricsPoint>(
    `SELECT * FROM (
       SELECT ${ISO("collected_at")} AS at, load1,
              CASE WHEN mem_total_bytes > 0
                   THEN 1 - mem_free_bytes::float8 / mem_total_bytes ELSE 0 END AS "memUsed", id
         FROM metrics ORDER BY id DESC LIMIT $1
     ) m ORDER BY id`,
    [points],
  );
  return rows.map(({ at, load1, memUsed }) => ({ at, load1, memUsed }));
}

interface BackupReport {
  backups?: BackupEntry[];
  window?: { earliest: string | null; latest: string | null };
}

/**
 * The backup container's last report (table backup_status, written by pg-backup) and the
 * primary's pg_stat_archiver. A report the container never wrote is no backups, not an error.
 */
async function readBackups(db: Queryable): Promise<BackupStatus> {
  const [report, archiver] = await Promise.all([
    db.query<{ info: BackupReport; reportedAt: string }>(
      `${PRIMARY_ONLY} SELECT info, ${ISO("updated_at")} AS "reportedAt" FROM backup_status WHERE id = 1`,
    ),
    db.query<BackupStatus["archiver"]>(
      `${PRIMARY_ONLY} SELECT archived_count::int AS "archivedCount", last_archived_wal AS "lastArchivedWal",
              ${ISO("last_archived_time")} AS "lastArchivedAt", failed_count::int AS "failedCount",
              last_failed_wal AS "lastFailedWal", ${ISO("last_failed_time")} AS "lastFailedAt"
         FROM pg_stat_archiver`,
    ),
  ]);
  const row = report.rows[0];
  const backups = Array.isArray(row?.info.backups) ? row.info.backups : [];
  return {
    last: backups.length > 0 ? backups[backups.length - 1]! : null,
    count: backups.length,
    window: {
      earliest: row?.info.window?.earliest ?? null,
      latest: row?.info.window?.latest ?? null,
    },
    reportedAt: row?.reportedAt ?? null,
    archiver: archiver.rows[0]!,
  };
}

async function part<T>(read: Promise<T>): Promise<Part<T>> {
  try {
    return { ok: true, value: await read };
  } catch (err) {
    return { ok: false, error: errorSummary(err).message };
  }
}

export async function readStatus(db: Queryable, config: Config): Promise<Status> {
  const [replicas, poolNodes, replication, events, metrics, backups] = await Promise.all([
    part(readReplicas(db, config)),
    part(readPoolNodes(db)),
    part(readReplication(db)),
    part(readEvents(db)),
    part(readMetrics(db)),
    part(readBackups(db)),
  ]);
  return {
    servedBy: { replica: config.replicaIndex, hostname: config.hostname },
    stack: config.stack,
    replicas,
    poolNodes,
    replication,
    events,
    metrics,
    backups,
  };
}
