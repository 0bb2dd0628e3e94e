// The pg Pool and every query the app runs. SQL is always parameterised.
import { setTimeout as sleep } from "node:timers/promises";
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

/** What the queries below need: a pg.Pool, a pg.Client or a {@link retryingReads} wrapper. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
}

/** How long a read keeps retrying by default: a pgpool restart (~3 s) plus a margin. */
export const DEFAULT_READ_RETRY_BUDGET_MS = 4_000;

/** Pauses before the 1st, 2nd and 3rd retry; then MAX_RETRY_DELAY_MS until the budget is spent. */
const RETRY_DELAYS_MS: readonly number[] = [100, 250, 500];
const MAX_RETRY_DELAY_MS = 1_000;

/** Socket errors of a connection that could not be made or was cut. */
const TRANSIENT_NODE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ETIMEDOUT",
]);

/** SQLSTATEs besides class 08: admin_shutdown, crash_shutdown, cannot_connect_now. */
const TRANSIENT_SQLSTATES = new Set(["57P01", "57P02", "57P03"]);

/**
 * Messages without a telling code: pg's own for a cut connection or a connect timeout (pool
 * queue or socket), and pgpool's when it cannot reach a backend (its SQLSTATE is XX000).
 */
const TRANSIENT_MESSAGES = [
  /^Connection terminated( unexpectedly| due to connection timeout)?$/,
  /^timeout exceeded when trying to connect$/,
  /failed to create a backend connection/,
  /unable to read message kind/,
];

/**
 * Whether `err` says the database could not be reached or the connection was lost (worth trying
 * again in a moment), as opposed to an error in the query itself. pg's `query_timeout` expiry
 * ("Query read timeout") is not transient: the server may still be busy with the statement.
 */
export function isTransientDbError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") {
    if (TRANSIENT_NODE_CODES.has(code) || TRANSIENT_SQLSTATES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  return TRANSIENT_MESSAGES.some((pattern) => pattern.test(err.message));
}

export interface RetryingReadsOptions {
  /**
   * How long one query may keep retrying, from its first attempt; 0 disables retries. Keep it
   * well below nginx's proxy_read_timeout. @default DEFAULT_READ_RETRY_BUDGET_MS (4000)
   */
  readonly budgetMs?: number;
}

/**
 * `db` for reads that ride out a short database outage (a pgpool restart or failover cuts every
 * connection and refuses new ones for a few seconds): a query that fails on a transient error
 * ({@link isTransientDbError}) is run again after 100, 250, 500, 1000, 1000… ms until
 * `budgetMs` is spent, then fails with the last error. Each retry is logged at warn level.
 *
 * Only for statements that are safe to run twice: never for writes, whose reply may be lost
 * after the server committed them.
 */
export function retryingReads(
  db: Queryable,
  log: Logger,
  options: RetryingReadsOptions = {},
): Queryable {
  const budgetMs = options.budgetMs ?? DEFAULT_READ_RETRY_BUDGET_MS;
  if (!Number.isInteger(budgetMs) || budgetMs < 0 || budgetMs > 30_000) {
    throw new Error(
      `retryingReads: budgetMs is ${budgetMs}; allowed: a whole number of ms from 0 to 30000`,
    );
  }
  return {
    async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]) {
      const started = Date.now();
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.query<R>(text, values);
        } catch (err) {
          if (!isTransientDbError(err)) throw err;
          const elapsedMs = Date.now() - started;
          const delay = RETRY_DELAYS_MS[attempt - 1] ?? MAX_RETRY_DELAY_MS;
          const retryInMs = Math.min(delay, budgetMs - elapsedMs);
          if (retryInMs <= 0) {
            log.warn(
              { err: errorSummary(err), attempts: attempt, elapsedMs },
              "database read still failing; retry budget spent, giving up",
            );
            throw err;
          }
          log.warn(
            { err: errorSummary(err), attempt, retryInMs },
            "database read failed on a transient error; retrying",
          );
          await sleep(retryInMs);
        }
      }
    },
  };
}

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
