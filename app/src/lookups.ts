// The reads the page and the API share: the overview both show, and a user by a raw id.
import { latestMetrics, readDbNode, recentRequests, type Queryable } from "./db.js";
import { parseUserId } from "./id.js";
import { schemaStatus } from "./migrate.js";
import { findUser, type User } from "./users.js";

/** What the page and /api/info show: the node that answered, the schema, requests, metrics. */
export async function readOverview(db: Queryable, shippedMigrations: readonly string[]) {
  const [node, schema, requests, metrics] = await Promise.all([
    readDbNode(db),
    schemaStatus(db, shippedMigrations),
    recentRequests(db),
    latestMetrics(db),
  ]);
  return { node, schema, requests, metrics };
}

export type UserLookup = { status: 200; user: User } | { status: 400 | 404; message: string };

/**
 * The user a raw id (a path parameter or a query value) names: 400 for a malformed id (the
 * database is not asked), 404 for an id nobody has. Database errors are thrown.
 */
export async function lookUpUser(db: Queryable, raw: unknown): Promise<UserLookup> {
  const parsed = parseUserId(raw);
  if (!parsed.ok) return { status: 400, message: parsed.message };
  const user = await findUser(db, parsed.id);
  return user ? { status: 200, user } : { status: 404, message: `no user with id ${parsed.id}` };
}
