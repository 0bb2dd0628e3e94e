// The pg Pool and every query the app runs. SQL is always parameterised.
import pg from "pg";
import type { DatabaseConfig } from "./config.js";

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * A bounded pool that survives a pgpool failover: broken idle connections are dropped and
 * logged (pg emits `error` on them; without a listener the process would crash), broken
 * checked-out connections are logged too, and the next query opens a fresh connection.
 *
 * @param extra connections on top of `poolMax` for clients held for a long time (LISTEN)
 */
export function createPool(
  config: DatabaseConfig,
  log: Logger,
  applicationName: string,
  extra = 0,
): pg.Pool {
  const pool = new pg.Pool({
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: config.password,
    application_name: applicationName,
    max: config.poolMax + extra,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // A query stuck on a node pgpool just detached must not hold a request forever.
    query_timeout: 10_000,
    keepAlive: true,
  });
  pool.on("error", (err) => log.warn({ err: errorSummary(err) }, "idle database connection lost"));
  pool.on("connect", (client) => {
    // pg-pool removes its own error listener while a client is checked out.
    client.on("error", (err) =>
      log.warn({ err: errorSummary(err) }, "database connection lost while in use"),
    );
  });
  return pool;
}

/** A loggable summary of a database error without its stack. */
export function errorSummary(err: unknown): { message: string; code?: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" ? { message: err.message, code } : { message: err.message };
  }
  return { message: String(err) };
}

type Queryable = Pick<pg.Pool, "query">;

export interface DbNode {
  address: string;
  port: number;
  role: "primary" | "standby";
}

/**
 * Which node answered a read. Through pgpool this SELECT is load-balanced (to the standby when
 * one is up). `in_hot_standby` is read through `current_setting`, a stable function: pgpool
 * sends statements that call volatile functions such as `pg_is_in_recovery()` to the primary,
 * which would hide the standby.
 */
export async function readDbNode(db: Queryable): Promise<DbNode> {
  const { rows } = await db.query<{
    address: string | null;
    port: number | null;
    standby: boolean;
  }>(
    `SELECT host(inet_server_addr()) AS address, inet_server_port() AS port,
            current_setting('in_hot_standby') = 'on' AS standby`,
  );
  const row = rows[0];
  return {
    address: row?.address ?? "local socket",
    port: row?.port ?? 0,
    role: row?.standby ? "standby" : "primary",
  };
}

export interface RequestLogEntry {
  id: number;
  method: string;
  path: string;
  replica: number;
  hostname: string;
  at: string;
}

/** The longest path stored; longer ones are cut (a 4 KB URL must not bloat the log). */
export const MAX_LOGGED_PATH = 512;

export async function logRequest(
  db: Queryable,
  entry: { method: string; path: string; replica: number; hostname: string },
): Promise<void> {
  await db.query("INSERT INTO requests (method, path, replica, hostname) VALUES ($1, $2, $3, $4)", [
    entry.method.slice(0, 16),
    entry.path.slice(0, MAX_LOGGED_PATH),
    entry.replica,
    entry.hostname,
  ]);
}

export async function recentRequests(db: Queryable, limit = 25): Promise<RequestLogEntry[]> {
  const { rows } = await db.query<RequestLogEntry>(
    `SELECT id::int AS id, method, path, replica, hostname,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at
       FROM requests ORDER BY id DESC LIMIT $1`,
    [limit],
  );
  return rows;
}

export interface HostMetrics {
  hostname: string;
  load1: number;
  load5: number;
  load15: number;
  memTotalBytes: number;
  memFreeBytes: number;
  diskTotalBytes: number;
  diskFreeBytes: number;
}

export interface MetricsRow extends HostMetrics {
  at: string;
}

export async function insertMetrics(db: Queryable, m: HostMetrics): Promise<void> {
  await db.query(
    `INSERT INTO metrics (hostname, load1, load5, load15, mem_total_bytes, mem_free_bytes,
                          disk_total_bytes, disk_free_bytes)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      m.hostname,
      m.load1,
      m.load5,
      m.load15,
      m.memTotalBytes,
      m.memFreeBytes,
      m.diskTotalBytes,
      m.diskFreeBytes,
    ],
  );
}

export async function latestMetrics(db: Queryable): Promise<MetricsRow | null> {
  const { rows } = await db.query<MetricsRow>(
    `SELECT hostname, load1, load5, load15,
            mem_total_bytes::float8 AS "memTotalBytes", mem_free_bytes::float8 AS "memFreeBytes",
            disk_total_bytes::float8 AS "diskTotalBytes", disk_free_bytes::float8 AS "diskFreeBytes",
            to_char(collected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at
       FROM metrics ORDER BY id DESC LIMIT 1`,
  );
  return rows[0] ?? null;
}

export interface User {
  id: number;
  name: string;
  key: string;
}

export async function findUser(db: Queryable, id: number): Promise<User | null> {
  const { rows } = await db.query<User>("SELECT id, name, key FROM users WHERE id = $1", [id]);
  return rows[0] ?? null;
}
