// The config files the program renders for its containers, read together: the relations between
// pgpool.conf and postgresql.conf (and the containers' settings) that keep failover fast and
// keep pgpool's connections within what PostgreSQL accepts. The values come from the program
// (components/database.ts) and the renderers both, so a change in either fails here.
import { beforeAll, describe, expect, it, vi } from "vitest";
import {
  ADMIN_UI_CONNECTIONS,
  APP_CONTAINERS_AT_ONCE,
  COLLECTOR_CONNECTIONS,
  CONNECTIONS_PER_APP,
} from "../../components/connections";
import { confSettings } from "./conf-files";
import { container, runProgram, type ProgramRun } from "./harness";

/** The content of the file the program uploads to `file` in container `node`. */
function uploaded(run: ProgramRun, node: string, file: string): string {
  const uploads = container(run, node).inputs.uploads as { file: string; content: string }[];
  const found = uploads.find((u) => u.file === file);
  if (found === undefined) throw new Error(`${node} gets no ${file}`);
  return found.content;
}

/** The value of `NAME=value` in container `node`'s environment. */
function env(run: ProgramRun, node: string, name: string): string {
  const envs = container(run, node).inputs.envs as string[];
  const found = envs.find((e) => e.startsWith(`${name}=`));
  if (found === undefined) throw new Error(`${node} has no ${name}`);
  return found.slice(name.length + 1);
}

/** A numeric setting of a rendered file; `fallback` is the software's default when unset. */
function number(settings: Map<string, string>, name: string, fallback?: number): number {
  const value = settings.get(name);
  if (value === undefined && fallback !== undefined) return fallback;
  expect(value, name).toMatch(/^[0-9]+$/);
  return Number(value);
}

/**
 * The most seconds pgpool may take to detach a PostgreSQL node that stopped answering. A former
 * primary that Docker restarts waits PG_FENCE_WAIT_SECONDS (10 s) for pgpool to promote its peer
 * before it starts as primary again, so detection has to end within that wait.
 */
const DETECTION_BOUND_SECONDS = 10;

describe.each([1, 32])("with replicas = %i", (replicas) => {
  let run: ProgramRun;
  // One run per replica count (32 replicas take seconds to declare; the unit tier runs its
  // files in parallel on two cores, so the hook gets more than vitest's default 10 s).
  beforeAll(async () => {
    vi.resetModules();
    run = await runProgram({ replicas: String(replicas), maxReplicas: String(replicas) });
  }, 60_000);

  it("pgpool detaches a dead backend within the stated bound and before the fence wait ends", () => {
    const pgpool = confSettings(uploaded(run, "pgpool", "/etc/ha-stack/pgpool.conf"));
    const period = number(pgpool, "health_check_period");
    const retries = number(pgpool, "health_check_max_retries");
    const timeout = number(pgpool, "health_check_timeout");
    const retryDelay = number(pgpool, "health_check_retry_delay");
    expect({ period, retries, timeout, retryDelay }).toEqual({
      period: 1,
      retries: 2,
      timeout: 2,
      retryDelay: 1,
    });
    // The first check after the death comes at most one period later; the retries follow
    // retry_delay apart (not period apart); every attempt may wait out the timeout when the
    // host hangs (a refused connection fails at once: period + retries x retry_delay).
    const worst = period + (retries + 1) * timeout + retries * retryDelay;
    expect(worst).toBeLessThanOrEqual(DETECTION_BOUND_SECONDS);
    for (const node of ["pg-0", "pg-1"]) {
      expect(worst, node).toBeLessThanOrEqual(Number(env(run, node, "PG_FENCE_WAIT_SECONDS")));
    }
    // A connect attempt gives up within the health-check timeout, and a child that sees a
    // backend fail triggers the failover at once instead of waiting for the next check.
    expect(number(pgpool, "connect_timeout")).toBeLessThanOrEqual(timeout * 1000);
    expect(pgpool.get("failover_on_backend_error")).toBe("on");
  });

  it("PostgreSQL accepts every connection pgpool's children can open, on both nodes", () => {
    const pgpool = confSettings(uploaded(run, "pgpool", "/etc/ha-stack/pgpool.conf"));
    const children = number(pgpool, "num_init_children");
    // Each child keeps up to max_pool connections to every backend (reads go to the standby,
    // writes to the primary); the health check and the streaming-replication check add one each.
    const pgpoolOpens = children * number(pgpool, "max_pool") + 2;
    const maxConnections: number[] = [];
    for (const node of ["pg-0", "pg-1"]) {
      const postgres = confSettings(uploaded(run, node, "/etc/ha-stack/postgresql.conf"));
      // Slots only superusers (and pg_use_reserved_connections) may take; pgpool's roles are not.
      const reserved =
        number(postgres, "superuser_reserved_connections", 3) +
        number(postgres, "reserved_connections", 0);
      const max = number(postgres, "max_connections");
      expect(max - reserved, node).toBeGreaterThanOrEqual(pgpoolOpens);
      maxConnections.push(max);
    }
    // A hot standby refuses to start with a lower max_connections than its primary's.
    expect(maxConnections[1]).toBe(maxConnections[0]);
    // And pgpool has a child for every connection that can exist at once: every app container
    // a roll can have (maxReplicas, here = replicas, + rolloutBatch 1), Adminer and the collector.
    expect(children).toBeGreaterThanOrEqual(
      (replicas + 1) * CONNECTIONS_PER_APP + ADMIN_UI_CONNECTIONS + COLLECTOR_CONNECTIONS,
    );
    // PostgreSQL's max_connections is the same for every config (sized for the ceiling).
    expect(maxConnections[0]).toBeGreaterThanOrEqual(
      APP_CONTAINERS_AT_ONCE * CONNECTIONS_PER_APP + ADMIN_UI_CONNECTIONS + COLLECTOR_CONNECTIONS,
    );
  });
});
