// The database plugin: the app's pg pool, and the view of it that retries reads, as `app.db`.
import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import type pg from "pg";
import type { AppOptions } from "../app.js";
import { createPool, retryingReads, type Queryable } from "../db.js";

declare module "fastify" {
  interface FastifyInstance {
    /** The app's database handles, from the `database` plugin. */
    db: Database;
  }
}

export interface Database {
  /** The pool: for writes (the request log) and /readyz, which must not be retried. */
  readonly pool: pg.Pool;
  /** The pool for the read routes: a read is retried through a short database outage. */
  readonly reads: Queryable;
}

const database: FastifyPluginAsync<Pick<AppOptions, "config" | "readRetryBudgetMs">> = async (
  app,
  { config, readRetryBudgetMs },
) => {
  // One slot on top of the query pool for the chat adapter's LISTEN connection.
  const pool = createPool(config.database, app.log, `ha-stack-app-${config.replicaIndex}`, 1);
  // A pgpool restart or failover cuts every connection for a few seconds. The read routes ride
  // that out here: nginx retrying their 503s on another replica would mark every replica failed
  // during a database outage they all share.
  const reads = retryingReads(pool, app.log, { budgetMs: readRetryBudgetMs });
  app.decorate("db", { pool, reads });
  // onClose runs after every preClose hook, so the chat has stopped using the pool by then.
  app.addHook("onClose", async () => {
    await pool.end();
  });
};

export default fp(database, { name: "database", fastify: "5.x" });
