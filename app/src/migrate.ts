// Schema migrations: node-pg-migrate's runner on the leader, a read-only check everywhere else.
import { readdirSync } from "node:fs";
import { runner } from "node-pg-migrate";
import pg from "pg";
import type { DatabaseConfig } from "./config.js";
import type { Logger, Queryable } from "./db.js";

export const MIGRATIONS_TABLE = "pgmigrations";

/**
 * Names of the migrations in `dir` (file names without `.sql`), oldest first, ordered like
 * node-pg-migrate orders them: by the numeric prefix. Throws if the directory is unreadable
 * or holds none, since an image without migrations can never become ready.
 */
export function shippedMigrations(dir: string): string[] {
  const names = readdirSync(dir)
    .filter((file) => file.endsWith(".sql") && !file.startsWith("."))
    .map((file) => file.slice(0, -".sql".length));
  if (names.length === 0) throw new Error(`no *.sql migrations in ${dir}`);
  const prefix = (name: string) => Number(/^\d+/.exec(name)?.[0] ?? Number.NaN);
  return names.sort((a, b) => prefix(a) - prefix(b) || a.localeCompare(b));
}

/**
 * Applies every pending migration in `dir` (the schema, then the seed users) in one
 * transaction. node-pg-migrate holds a session advisory lock (`pg_advisory_lock`, mode `wait`)
 * from before it reads the migrations table until it is done, so leaders that start together
 * queue up: the first applies, the rest find nothing to do. Returns the names it applied.
 *
 * Every statement carries pgpool's `/*NO LOAD BALANCE*\/` hint: the leader must read the
 * migrations table from the primary it writes to, never from a standby that may lag.
 */
export async function migrate(
  database: DatabaseConfig,
  dir: string,
  log: Logger,
): Promise<string[]> {
  const client = new pg.Client({
    host: database.host,
    port: database.port,
    database: database.database,
    user: database.user,
    password: database.password,
    application_name: "ha-stack-migrate",
    connectionTimeoutMillis: 10_000,
  });
  client.on("error", (err) => log.warn({ err: err.message }, "migration connection lost"));
  await client.connect();
  // node-pg-migrate accepts any object with `query` as an external client (it never ends it).
  const primaryOnly = {
    query: (text: string | pg.QueryConfig, values?: unknown[]) =>
      client.query(typeof text === "string" ? `/*NO LOAD BALANCE*/ ${text}` : text, values),
  } as unknown as pg.ClientBase;
  const say = (level: "info" | "warn" | "error") => (msg: string) =>
    log[level]({ migrations: dir }, msg.trim());
  try {
    const applied = await runner({
      dbClient: primaryOnly,
      dir,
      migrationsTable: MIGRATIONS_TABLE,
      direction: "up",
      advisoryLockMode: "wait",
      singleTransaction: true,
      checkOrder: true,
      logger: { debug: say("info"), info: say("info"), warn: say("warn"), error: say("error") },
    });
    return applied.map((m) => m.name);
  } finally {
    await client.end();
  }
}

export interface SchemaStatus {
  /** True when every migration this image ships is applied. */
  upToDate: boolean;
  /** The newest applied migration, or null when none is. */
  version: string | null;
  /** Shipped migrations not yet applied, oldest first. */
  missing: string[];
}

/** Compares the migrations table with what this image ships (read-only, any node). */
export async function schemaStatus(
  db: Queryable,
  shipped: readonly string[],
): Promise<SchemaStatus> {
  let applied: string[];
  try {
    const { rows } = await db.query<{ name: string }>(
      `SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY run_on, id`,
    );
    applied = rows.map((r) => r.name);
  } catch (error) {
    // 42P01 undefined_table: nothing has migrated this database yet.
    if ((error as { code?: string }).code === "42P01") applied = [];
    else throw error;
  }
  const done = new Set(applied);
  const missing = shipped.filter((name) => !done.has(name));
  return { upToDate: missing.length === 0, version: applied.at(-1) ?? null, missing };
}
