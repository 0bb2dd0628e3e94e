// The collector writes host metrics rows, survives database errors, and can be disabled.
import { existsSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { collectOnce } from "../../app/src/collect.js";
import {
  containerEnv,
  createMigratedDatabase,
  runEntry,
  tmpDir,
  type TestDatabase,
} from "./helpers.js";

let db: TestDatabase;

beforeAll(async () => {
  db = await createMigratedDatabase("collector");
});

afterAll(async () => {
  await db?.drop();
});

async function metricsRows(hostname?: string) {
  const { rows } = await db.pool.query(
    "SELECT * FROM metrics WHERE $1::text IS NULL OR hostname = $1 ORDER BY id",
    [hostname ?? null],
  );
  return rows;
}

describe("collectOnce", () => {
  it("inserts one plausible row and touches the health file", async () => {
    const health = join(tmpDir(), "last-ok");
    await collectOnce(db.pool, "sampler", health);
    const [row] = await metricsRows("sampler");
    expect(row).toBeDefined();
    expect(row.load1).toBeGreaterThanOrEqual(0);
    expect(Number(row.mem_total_bytes)).toBeGreaterThan(Number(row.mem_free_bytes));
    expect(Number(row.mem_free_bytes)).toBeGreaterThan(0);
    expect(Number(row.disk_total_bytes)).toBeGreaterThanOrEqual(Number(row.disk_free_bytes));
    expect(Number(row.disk_total_bytes)).toBeGreaterThan(0);
    expect(existsSync(health)).toBe(true);
  });

  it("fails without touching the health file when the database is unreachable", async () => {
    const health = join(tmpDir(), "last-ok");
    const down = new pg.Pool({ host: "127.0.0.1", port: 1, connectionTimeoutMillis: 1_000 });
    await expect(collectOnce(down, "sampler", health)).rejects.toThrow(/ECONNREFUSED/);
    await down.end();
    expect(existsSync(health)).toBe(false);
  });
});

describe("collector entry", () => {
  // Each test starts from one sample an earlier collector wrote; the counts below include it.
  beforeEach(async () => {
    await db.pool.query("TRUNCATE metrics");
    await collectOnce(db.pool, "earlier-collector", join(tmpDir(), "last-ok"));
  });

  it("exits 0 at once, saying so, when COLLECTOR_INTERVAL_SECONDS=0", async () => {
    const run = runEntry("collector", containerEnv(db, { COLLECTOR_INTERVAL_SECONDS: "0" }));
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain("collector disabled (COLLECTOR_INTERVAL_SECONDS=0)");
    expect(await metricsRows()).toHaveLength(1);
  });

  it("writes a row every interval, is healthy meanwhile, and stops on SIGTERM", async () => {
    const health = join(tmpDir(), "last-ok");
    const env = containerEnv(db, {
      COLLECTOR_INTERVAL_SECONDS: "1",
      COLLECTOR_HEALTH_FILE: health,
    });
    const run = runEntry("collector", env);
    try {
      await run.waitFor(/metrics row written[\s\S]*metrics row written/, 20_000);
      const check = runEntry("collector-healthcheck", env);
      expect(await check.exited).toBe(0);
    } finally {
      run.kill("SIGTERM");
    }
    expect(await run.exited).toBe(0);
    expect((await metricsRows()).length).toBeGreaterThanOrEqual(3);
  });

  it("keeps running and logs while the database refuses connections", async () => {
    const env = containerEnv(db, { COLLECTOR_INTERVAL_SECONDS: "1", DATABASE_PORT: "1" });
    const run = runEntry("collector", { ...env, COLLECTOR_HEALTH_FILE: join(tmpDir(), "x") });
    try {
      await run.waitFor(/sample failed; retrying next tick[\s\S]*sample failed; retrying/, 20_000);
    } finally {
      run.kill("SIGTERM");
    }
    expect(await run.exited).toBe(0);
  });
});

describe("collector healthcheck", () => {
  it("is unhealthy without a sample and when the last one is older than 3 intervals", async () => {
    const health = join(tmpDir(), "last-ok");
    const env = {
      PATH: process.env.PATH ?? "",
      COLLECTOR_INTERVAL_SECONDS: "5",
      COLLECTOR_HEALTH_FILE: health,
    };
    const missing = runEntry("collector-healthcheck", env);
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toContain("no sample written yet");

    writeFileSync(health, "x");
    const old = new Date(Date.now() - 16_000);
    utimesSync(health, old, old);
    const stale = runEntry("collector-healthcheck", env);
    expect(await stale.exited).toBe(1);
    expect(stale.output()).toMatch(/last sample 1[67] s ago \(allowed 15 s\)/);
  });
});
