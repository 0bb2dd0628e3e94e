// The server entry as the container runs it: listen, healthcheck, graceful shutdown.
import { afterAll, beforeAll, expect, it } from "vitest";
import { migrate } from "../../app/src/migrate.js";
import {
  containerEnv,
  createDatabase,
  MIGRATIONS_DIR,
  runEntry,
  silentLog,
  testConfig,
  type TestDatabase,
} from "./helpers.js";
import { freePort } from "./ports.js";

let db: TestDatabase;

beforeAll(async () => {
  db = await createDatabase("server");
});

afterAll(async () => {
  await db?.drop();
});

it("a leader migrates, serves, passes its healthcheck and stops cleanly on SIGTERM", async () => {
  const port = String(await freePort());
  const env = containerEnv(db, { APP_ROLE: "leader", PORT: port, REPLICA_INDEX: "0" });
  const server = runEntry("server", env);
  try {
    await server.waitFor(/Server listening at http:\/\/127\.0\.0\.1:/);
    expect(server.output()).toContain('"msg":"migrations applied"');
    const check = runEntry("healthcheck", { PATH: env.PATH, PORT: port });
    expect(await check.exited).toBe(0);
    const info = await (await fetch(`http://127.0.0.1:${port}/api/info`)).json();
    expect(info).toMatchObject({ replica: 0, appRole: "leader", schemaUpToDate: true });
  } finally {
    server.kill("SIGTERM");
  }
  expect(await server.exited).toBe(0);
  expect(server.output()).toContain('"msg":"stopped"');
  // The pool was closed: no session of the app is left.
  const { rows } = await db.pool.query(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'ha-stack-app-%'",
  );
  expect(rows[0].n).toBe(0);
});

it("a follower on an unmigrated database serves but fails its healthcheck", async () => {
  const fresh = await createDatabase("server_follower");
  try {
    const port = String(await freePort());
    const env = containerEnv(fresh, { APP_ROLE: "follower", PORT: port });
    const server = runEntry("server", env);
    try {
      await server.waitFor(/Server listening/);
      const check = runEntry("healthcheck", { PATH: env.PATH, PORT: port });
      expect(await check.exited).toBe(1);
      expect(check.output()).toContain("readyz 503");
      await migrate(testConfig(fresh).database, MIGRATIONS_DIR, silentLog);
      const again = runEntry("healthcheck", { PATH: env.PATH, PORT: port });
      expect(await again.exited).toBe(0);
    } finally {
      server.kill("SIGTERM");
    }
    expect(await server.exited).toBe(0);
  } finally {
    await fresh.drop();
  }
});

it("the healthcheck fails when nothing listens", async () => {
  const check = runEntry("healthcheck", {
    PATH: process.env.PATH ?? "",
    PORT: String(await freePort()),
  });
  expect(await check.exited).toBe(1);
  expect(check.output()).toContain("readyz unreachable");
});
