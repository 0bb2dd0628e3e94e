// The database connection budget, derived: pgpool's `num_init_children` (one client session per
// child) covers every client that can exist at once, and PostgreSQL's `max_connections` covers
// the largest pgpool any config can have. pgpool is sized by `maxReplicas` and `rolloutBatch`,
// not by the current replica count: changing its children restarts pgpool, and scaling or a
// roll must not. PostgreSQL's `max_connections` is the same for every config: changing it
// restarts the primary, and a hot standby refuses to run with fewer than its primary has.
// components/config.ts refuses a config (replicas over maxReplicas, or more app containers at
// once than the ceiling) that could ask for more.
import { SUPERUSER_RESERVED_CONNECTIONS } from "./render/postgres";

/** Connections one app container may hold: its pg Pool (`DATABASE_POOL_MAX`, 5) + the chat's LISTEN client. */
export const CONNECTIONS_PER_APP = 6;

/**
 * The ceiling on app containers at once: 32 replicas plus a batch of 16. PostgreSQL's
 * `max_connections` is sized for it.
 */
export const APP_CONTAINERS_AT_ONCE = 48;

/** Adminer: PHP's built-in server with PHP_CLI_SERVER_WORKERS=4, one session per worker. */
export const ADMIN_UI_CONNECTIONS = 4;

/** The collector: a pool of one. */
export const COLLECTOR_CONNECTIONS = 1;

/** pgpool's own sessions on each PostgreSQL node: its health check and its streaming-replication check. */
export const PGPOOL_OWN_CONNECTIONS = 2;

export interface ConnectionBudget {
  /** pgpool's `num_init_children`: app containers at once × per-app pool + Adminer + collector. */
  readonly pgpoolChildren: number;
  /** PostgreSQL's `max_connections`: the largest pgpool's children + pgpool's own + the superuser reserve. */
  readonly maxConnections: number;
}

/** pgpool children for `appContainers` app containers at once, Adminer and the collector. */
function childrenFor(appContainers: number): number {
  return appContainers * CONNECTIONS_PER_APP + ADMIN_UI_CONNECTIONS + COLLECTOR_CONNECTIONS;
}

/**
 * The budget of a stack whose replicas never exceed `maxReplicas`, rolled `rolloutBatch` at a
 * time: the most app containers it can have at once is `maxReplicas` plus the batch (clamped to
 * `maxReplicas - 1`, the most followers it can have, as config clamps it to the followers).
 */
export function connectionBudget(maxReplicas: number, rolloutBatch: number): ConnectionBudget {
  return {
    pgpoolChildren: childrenFor(budgetedAppContainers(maxReplicas, rolloutBatch)),
    maxConnections:
      childrenFor(APP_CONTAINERS_AT_ONCE) + PGPOOL_OWN_CONNECTIONS + SUPERUSER_RESERVED_CONNECTIONS,
  };
}

/** The most app containers at once of a stack with up to `maxReplicas` replicas (see connectionBudget). */
export function budgetedAppContainers(maxReplicas: number, rolloutBatch: number): number {
  return appContainersAtOnce(maxReplicas, rollBatch(maxReplicas, rolloutBatch));
}

/**
 * The batch a roll of `replicas` uses: `rolloutBatch`, at most the followers (`replicas` - 1),
 * at least 1. A larger batch already means "all followers at once".
 */
export function rollBatch(replicas: number, rolloutBatch: number): number {
  return Math.min(rolloutBatch, Math.max(1, replicas - 1));
}

/** App containers a config can have at once: every replica plus a roll's batch of replacements. */
export function appContainersAtOnce(replicas: number, rolloutBatch: number): number {
  return replicas + rolloutBatch;
}
