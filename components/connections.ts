// The database connection budget, derived: pgpool's `num_init_children` (one client session per
// child) and PostgreSQL's `max_connections` cover every client that can exist at once. Fixed
// for a stack's whole life, not sized to the current replica count: changing either restarts
// pgpool or the primary, and scaling or a roll must restart neither. components/config.ts
// refuses a config (replicas + rolloutBatch) that could ask for more.
import { SUPERUSER_RESERVED_CONNECTIONS } from "./render/postgres";

/** Connections one app container may hold: its pg Pool (`DATABASE_POOL_MAX`, 5) + the chat's LISTEN client. */
export const CONNECTIONS_PER_APP = 6;

/**
 * App containers that can exist at once: `replicas` plus the `rolloutBatch` replacements a
 * start-first roll adds (one host and swarm alike). 32 replicas with a batch of 16.
 */
export const APP_CONTAINERS_AT_ONCE = 48;

/** Adminer: PHP's built-in server with PHP_CLI_SERVER_WORKERS=4, one session per worker. */
export const ADMIN_UI_CONNECTIONS = 4;

/** The collector: a pool of one. */
export const COLLECTOR_CONNECTIONS = 1;

/** pgpool's own sessions on each PostgreSQL node: its health check and its streaming-replication check. */
export const PGPOOL_OWN_CONNECTIONS = 2;

export interface ConnectionBudget {
  /** pgpool's `num_init_children`: app containers × per-app pool + Adminer + collector. */
  readonly pgpoolChildren: number;
  /** PostgreSQL's `max_connections`: every pgpool child + pgpool's own + the superuser reserve. */
  readonly maxConnections: number;
}

/** The stack's budget (the same for every config: see the file's head). */
export function connectionBudget(): ConnectionBudget {
  const pgpoolChildren =
    APP_CONTAINERS_AT_ONCE * CONNECTIONS_PER_APP + ADMIN_UI_CONNECTIONS + COLLECTOR_CONNECTIONS;
  return {
    pgpoolChildren,
    maxConnections: pgpoolChildren + PGPOOL_OWN_CONNECTIONS + SUPERUSER_RESERVED_CONNECTIONS,
  };
}

/** App containers a config can have at once: every replica plus a roll's batch of replacements. */
export function appContainersAtOnce(replicas: number, rolloutBatch: number): number {
  return replicas + rolloutBatch;
}
