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
  it("gives pgpool a child for every connection of maxReplicas + rolloutBatch app containers, Adminer and the collector", () => {
    const children = (apps: number) =>
      apps * CONNECTIONS_PER_APP + ADMIN_UI_CONNECTIONS + COLLECTOR_CONNECTIONS;
    expect(connectionBudget(10, 1).pgpoolChildren).toBe(children(11));
    expect(connectionBudget(32, 16).pgpoolChildren).toBe(children(48));
    // The batch counts up to the most followers maxReplicas allows.
    expect(connectionBudget(4, 32).pgpoolChildren).toBe(children(7));
    expect(connectionBudget(1, 5).pgpoolChildren).toBe(children(2));
    // The figures the README states: the default (10, 1) and the ceiling (32, 16).
    expect([
      connectionBudget(10, 1).pgpoolChildren,
      connectionBudget(32, 16).pgpoolChildren,
    ]).toEqual([71, 293]);
  });

  it("gives PostgreSQL the same max_connections for every config: the ceiling's children, pgpool's own and the superuser reserve", () => {
    const ceiling = connectionBudget(32, 16);
    expect(ceiling.maxConnections).toBe(
      ceiling.pgpoolChildren + PGPOOL_OWN_CONNECTIONS + SUPERUSER_RESERVED_CONNECTIONS,
    );
    expect(ceiling.maxConnections).toBe(298);
    for (const [max, batch] of [
      [1, 1],
      [3, 2],
      [10, 1],
      [24, 24],
    ]) {
      expect(connectionBudget(max, batch).maxConnections, `${max}, ${batch}`).toBe(298);
    }
  });

  it("covers every config parseConfig accepts; every config it refuses would exceed it", () => {
    let accepted = 0;
    const refusedFor = new Set<string>();
    for (const maxReplicas of [1, 2, 5, 10, 16, 24, 32]) {
      for (let replicas = 1; replicas <= 32; replicas++) {
        for (const batch of [1, 2, 4, 8, 16, 17, 32]) {
          const raw = {
            replicas: String(replicas),
            maxReplicas: String(maxReplicas),
            rolloutBatch: String(batch),
          };
          let config;
          try {
            config = parseConfig(raw, "dev", () => {});
          } catch (error) {
            const message = (error as Error).message;
            const overMax = replicas > maxReplicas;
            const overCeiling =
              appContainersAtOnce(maxReplicas, Math.min(batch, Math.max(1, maxReplicas - 1))) >
              APP_CONTAINERS_AT_ONCE;
            // Refused only for the budget, and only when it would not fit.
            expect(overMax || overCeiling, JSON.stringify(raw)).toBe(true);
            if (overMax) expect(message).toContain(`ha-stack:replicas is "${replicas}"`);
            if (overCeiling)
              expect(message).toContain("ha-stack:maxReplicas + ha-stack:rolloutBatch");
            refusedFor.add(overMax ? "replicas" : "ceiling");
            continue;
          }
          accepted++;
          const demand =
            appContainersAtOnce(config.replicas, config.rolloutBatch) * CONNECTIONS_PER_APP +
            ADMIN_UI_CONNECTIONS +
            COLLECTOR_CONNECTIONS;
          expect(demand, JSON.stringify(raw)).toBeLessThanOrEqual(
            config.connections.pgpoolChildren,
          );
          expect(config.connections.pgpoolChildren).toBeLessThanOrEqual(
            config.connections.maxConnections -
              PGPOOL_OWN_CONNECTIONS -
              SUPERUSER_RESERVED_CONNECTIONS,
          );
        }
      }
    }
    expect(accepted).toBeGreaterThan(0);
    expect([...refusedFor].sort()).toEqual(["ceiling", "replicas"]);
  });

  it("does not change when replicas changes within maxReplicas, so scaling restarts nothing", () => {
    const budgets = new Set(
      [1, 2, 6, 10].map((replicas) =>
        JSON.stringify(
          parseConfig({ replicas: String(replicas), rolloutBatch: "4" }, "dev", () => {})
            .connections,
        ),
      ),
    );
    expect(budgets.size).toBe(1);
  });

  it("refuses replicas over maxReplicas, and a roll that cannot fit, naming the keys and what is allowed", () => {
    expect(() => parseConfig({ replicas: "12" }, "dev")).toThrow(
      `Invalid ha-stack configuration:\n  ha-stack:replicas is "12"; allowed: at most maxReplicas (10), which pgpool's children are sized for; raise ha-stack:maxReplicas first (that restarts pgpool once)`,
    );
    expect(() =>
      parseConfig({ replicas: "32", maxReplicas: "32", rolloutBatch: "17" }, "dev"),
    ).toThrow(
      "Invalid ha-stack configuration:\n  ha-stack:maxReplicas + ha-stack:rolloutBatch is 49; allowed: at most 48 (app containers a roll can have at once, 6 connections each, within PostgreSQL's 298 connections); with maxReplicas 32, rolloutBatch 1 to 16",
    );
    expect(
      parseConfig({ replicas: "32", maxReplicas: "32", rolloutBatch: "16" }, "dev").rolloutBatch,
    ).toBe(16);
    // A batch larger than the followers is clamped (to replicas - 1) for the roll.
    expect(
      parseConfig({ replicas: "24", maxReplicas: "24", rolloutBatch: "32" }, "dev", () => {})
        .rolloutBatch,
    ).toBe(23);
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
