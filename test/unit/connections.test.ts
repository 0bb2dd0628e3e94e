// The connection budget (components/connections.ts) and the config rule that keeps every stack
// inside it (components/config.ts).
import { describe, expect, it } from "vitest";
import { rollBatches } from "../../components/app";
import { parseConfig } from "../../components/config";
import {
  ADMIN_UI_CONNECTIONS,
  APP_CONTAINERS_AT_ONCE,
  appContainersAtOnce,
  COLLECTOR_CONNECTIONS,
  CONNECTIONS_PER_APP,
  connectionBudget,
  PGPOOL_OWN_CONNECTIONS,
} from "../../components/connections";
import { SUPERUSER_RESERVED_CONNECTIONS } from "../../components/render/postgres";

describe("the connection budget", () => {
  it("is (app containers at once) x per-app pool + Adminer + collector, plus pgpool's own and the superuser reserve", () => {
    const { pgpoolChildren, maxConnections } = connectionBudget();
    expect(pgpoolChildren).toBe(
      APP_CONTAINERS_AT_ONCE * CONNECTIONS_PER_APP + ADMIN_UI_CONNECTIONS + COLLECTOR_CONNECTIONS,
    );
    expect(maxConnections).toBe(
      pgpoolChildren + PGPOOL_OWN_CONNECTIONS + SUPERUSER_RESERVED_CONNECTIONS,
    );
    // The figures the README states.
    expect([pgpoolChildren, maxConnections]).toEqual([293, 298]);
  });

  it("covers every config parseConfig accepts; every config it refuses would exceed it", () => {
    const { pgpoolChildren } = connectionBudget();
    let accepted = 0;
    let refused = 0;
    for (let replicas = 1; replicas <= 32; replicas++) {
      for (let batch = 1; batch <= 32; batch++) {
        const raw = { replicas: String(replicas), rolloutBatch: String(batch) };
        let config;
        try {
          config = parseConfig(raw, "dev", () => {});
        } catch (error) {
          refused++;
          const used = Math.min(batch, Math.max(1, replicas - 1));
          // Refused only for the budget, and only when it would not fit.
          expect((error as Error).message, `${replicas}+${batch}`).toContain(
            "ha-stack:replicas + ha-stack:rolloutBatch",
          );
          expect(appContainersAtOnce(replicas, used), `${replicas}+${batch}`).toBeGreaterThan(
            APP_CONTAINERS_AT_ONCE,
          );
          continue;
        }
        accepted++;
        const demand =
          appContainersAtOnce(config.replicas, config.rolloutBatch) * CONNECTIONS_PER_APP +
          ADMIN_UI_CONNECTIONS +
          COLLECTOR_CONNECTIONS;
        expect(demand, `${replicas}+${batch}`).toBeLessThanOrEqual(pgpoolChildren);
      }
    }
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it("refuses a config whose roll cannot fit, naming both keys and what is allowed", () => {
    expect(() => parseConfig({ replicas: "32", rolloutBatch: "17" }, "dev")).toThrow(
      "Invalid ha-stack configuration:\n  ha-stack:replicas + ha-stack:rolloutBatch is 49; allowed: at most 48 (app containers a roll can have at once, 6 connections each in pgpool's 293 children); with replicas 32, rolloutBatch 1 to 16",
    );
    expect(parseConfig({ replicas: "32", rolloutBatch: "16" }, "dev").rolloutBatch).toBe(16);
    // A batch larger than the followers is clamped first (to replicas - 1), then counted.
    expect(parseConfig({ replicas: "24", rolloutBatch: "32" }, "dev", () => {}).rolloutBatch).toBe(
      23,
    );
  });
});

describe("rollBatches", () => {
  it.each<[number, number, number[][]]>([
    [1, 1, [[0]]],
    [3, 1, [[0], [1], [2]]],
    [6, 2, [[0], [1, 2], [3, 4], [5]]],
    [4, 31, [[0], [1, 2, 3]]],
  ])("replicas %i, batch %i", (replicas, batch, batches) => {
    expect(rollBatches(replicas, batch)).toEqual(batches);
  });
});
