// Leaders migrate under an advisory lock; followers wait for the schema; a bad migration stops
// the leader with a non-zero exit.
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { migrate, shippedMigrations } from "../../app/src/migrate.js";
import {
  buildTestApp,
  containerEnv,
  createDatabase,
  MIGRATIONS_DIR,
  runEntry,
  silentLog,
  testConfig,
  tmpDir,
  type TestDatabase,
} from "./helpers.js";

const shipped = shippedMigrations(MIGRATIONS_DIR);
const databases: TestDatabase[] = [];

async function database(prefix: string) {
  const db = await createDatabase(prefix);
  databases.push(db);
  return db;
}

afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
});

describe("leader migrations", () => {
  it("ships the schema, the seed and the writable users with the status tables, oldest first", () => {
    expect(shipped).toEqual([
      "1735689600000_create-tables",
      "1735689600001_seed-users",
      "1735689600002_users-writes-and-status",
      "1735689600003_backup-status",
    ]);
  });

  it("two leaders migrating at the same moment apply everything once and both succeed", async () => {
    const db = await database("race");
    const config = testConfig(db).database;
    const results = await Promise.all([
      migrate(config, MIGRATIONS_DIR, silentLog),
      migrate(config, MIGRATIONS_DIR, silentLog),
    ]);
    // One of them applied every migration; the other waited for the lock and found none.
    expect(results.map((r) => r.length).sort()).toEqual([0, shipped.length]);
    const names = await db.pool.query("SELECT name FROM pgmigrations ORDER BY id");
    expect(names.rows.map((r) => r.name)).toEqual(shipped);
    const users = await db.pool.query("SELECT count(*)::int AS n FROM users");
    expect(users.rows[0].n).toBe(7);
  });

  it("a leader restarting on a migrated database changes nothing", async () => {
    const db = await database("rerun");
    const config = testConfig(db).database;
    await migrate(config, MIGRATIONS_DIR, silentLog);
    const keys = (await db.pool.query("SELECT id, key FROM users ORDER BY id")).rows;
    expect(await migrate(config, MIGRATIONS_DIR, silentLog)).toEqual([]);
    expect((await db.pool.query("SELECT id, key FROM users ORDER BY id")).rows).toEqual(keys);
  });
});

describe("follower readiness", () => {
  it("is not ready on an older schema and turns ready once the leader migrated", async () => {
    const db = await database("follower");
    // The database as an older image left it: only the first migration applied.
    const oldDir = tmpDir();
    copyFileSync(join(MIGRATIONS_DIR, `${shipped[0]}.sql`), join(oldDir, `${shipped[0]}.sql`));
    await migrate(testConfig(db).database, oldDir, silentLog);

    const follower = await buildTestApp(testConfig(db));
    try {
      const before = await follower.inject("/readyz");
      expect(before.statusCode).toBe(503);
      expect(before.json()).toEqual({
        status: "not ready",
        reason:
          "schema is behind this image: 3 migration(s) not applied " +
          "(1735689600001_seed-users, 1735689600002_users-writes-and-status, 1735689600003_backup-status)",
        schemaVersion: "1735689600000_create-tables",
      });

      await migrate(testConfig(db).database, MIGRATIONS_DIR, silentLog);
      const after = await follower.inject("/readyz");
      expect(after.statusCode).toBe(200);
      expect(after.json()).toEqual({ status: "ready", schemaVersion: shipped.at(-1) });
    } finally {
      await follower.close();
    }
  });

  it("is not ready on an empty database and never creates tables itself", async () => {
    const db = await database("empty");
    const follower = await buildTestApp(testConfig(db));
    try {
      const res = await follower.inject("/readyz");
      expect(res.statusCode).toBe(503);
      expect(res.json().reason).toMatch(/4 migration\(s\) not applied/);
      const tables = await db.pool.query(
        "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'",
      );
      expect(tables.rows[0].n).toBe(0);
    } finally {
      await follower.close();
    }
  });
});

describe("server entry", () => {
  it("a leader with a broken migration exits non-zero, says why, and applies nothing", async () => {
    const db = await database("broken");
    const badDir = tmpDir();
    copyFileSync(join(MIGRATIONS_DIR, `${shipped[0]}.sql`), join(badDir, `${shipped[0]}.sql`));
    writeFileSync(
      join(badDir, "1735689600001_broken.sql"),
      "-- Up Migration\nCREATE TABLE oops (id integer;\n",
    );
    const server = runEntry(
      "server",
      containerEnv(db, { APP_ROLE: "leader", PORT: "0", MIGRATIONS_DIR: badDir }),
    );
    expect(await server.exited).toBe(1);
    expect(server.output()).toMatch(/"level":60.*"msg":"migration failed, exiting: syntax error/);
    // One transaction: the good first migration was rolled back with the broken one.
    const tables = await db.pool.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'pgmigrations'",
    );
    expect(tables.rows).toEqual([]);
  });

  it("refuses an invalid environment, naming the variable", async () => {
    const db = await database("badenv");
    const server = runEntry("server", containerEnv(db, { APP_ROLE: "leader", PORT: "http" }));
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain("invalid configuration: env/PORT must be integer");
  });

  it("refuses a missing password file, naming it", async () => {
    const db = await database("nopw");
    const env = { ...containerEnv(db), DATABASE_PASSWORD_FILE: "/nonexistent/app-password" };
    const server = runEntry("server", env);
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain(
      "invalid configuration: DATABASE_PASSWORD_FILE=/nonexistent/app-password cannot be read",
    );
  });
});
