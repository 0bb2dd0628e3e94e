// The users table: reads, writes and what their errors mean to a client. SQL is parameterised.
//
// Read-your-writes through pgpool: pgpool sends writes to the primary and balances plain
// SELECTs to the standby, which may lag (up to delay_threshold_by_time, 1 s, before pgpool stops
// choosing it). A user read that went there could miss a user created, changed or deleted a
// moment ago — on any replica, by any client. So every users read starts with pgpool's
// `/*NO LOAD BALANCE*/` comment (a comment before the SELECT: pgpool then sends it to the
// primary; allow_sql_comments stays off in pgpool.conf, which keeps that rule). An acknowledged
// write is committed on the primary, so the next read sees it. The page's other reads (the
// request log, metrics, the node that answered) stay balanced. test/app/replication.test.ts
// checks this against a real standby whose replay is paused.
import { randomBytes } from "node:crypto";
import type { Queryable } from "./db.js";

/** pgpool's hint that sends a SELECT to the primary (see the top of this file). */
export const PRIMARY_ONLY = "/*NO LOAD BALANCE*/";

export const NAME_MAX = 100;
export const KEY_MIN = 8;
export const KEY_MAX = 128;
export const KEY_PATTERN = "^[A-Za-z0-9._~-]+$";

export interface User {
  id: number;
  name: string;
  key: string;
  createdAt: string;
  updatedAt: string;
}

const COLUMNS = `id, name, key,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt"`;

/** A new user's key when none is given: like the seeded ones, `key-` and 32 hex digits. */
export function generateKey(): string {
  return `key-${randomBytes(16).toString("hex")}`;
}

export async function findUser(db: Queryable, id: number): Promise<User | null> {
  const { rows } = await db.query<User>(
    `${PRIMARY_ONLY} SELECT ${COLUMNS} FROM users WHERE id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/** Up to `limit` users with an id above `after`, by id; `next` is the `after` of the next page. */
export async function listUsers(
  db: Queryable,
  limit: number,
  after: number,
): Promise<{ users: User[]; next: number | null }> {
  const { rows } = await db.query<User>(
    `${PRIMARY_ONLY} SELECT ${COLUMNS} FROM users WHERE id > $1 ORDER BY id LIMIT $2`,
    [after, limit + 1],
  );
  const users = rows.slice(0, limit);
  return { users, next: rows.length > limit ? (users.at(-1)?.id ?? null) : null };
}

export async function createUser(
  db: Queryable,
  input: { name: string; key?: string },
): Promise<User> {
  const { rows } = await db.query<User>(
    `INSERT INTO users (name, key) VALUES ($1, $2) RETURNING ${COLUMNS}`,
    [input.name, input.key ?? generateKey()],
  );
  return rows[0]!;
}

/** Changes the given fields; null when no user has the id. */
export async function updateUser(
  db: Queryable,
  id: number,
  input: { name?: string; key?: string },
): Promise<User | null> {
  const { rows } = await db.query<User>(
    `UPDATE users SET name = COALESCE($2, name), key = COALESCE($3, key), updated_at = now()
      WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, input.name ?? null, input.key ?? null],
  );
  return rows[0] ?? null;
}

/** Whether a user had the id (and is gone now). */
export async function deleteUser(db: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await db.query("DELETE FROM users WHERE id = $1", [id]);
  return (rowCount ?? 0) > 0;
}

/**
 * A client's mistake in a write the database refused, as a status and message: a key someone
 * else has (23505) is 409; a value outside the table's checks (23514), an invalid character
 * (22021) or a value too long (22001) is 400. Null for anything else (the caller's 503 or 500).
 */
export function writeRefusal(err: unknown): { status: 400 | 409; message: string } | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "23505") return { status: 409, message: "another user already has this key" };
  if (code === "23514" || code === "22021" || code === "22001") {
    return { status: 400, message: "name or key outside what the users table allows" };
  }
  return null;
}
