// Read-your-writes through a real pgpool in front of a primary and a standby whose replay is
// paused (a standby lagging as far as it likes): a user the API created, changed or deleted is
// read back as acknowledged, while a plain balanced read still sees the standby's old state.
// Also the status board's pgpool parts, which need pgpool.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "../../app/src/app.js";
import { migrate } from "../../app/src/migrate.js";
import {
  MIGRATIONS_DIR,
  buildTestApp,
  silentLog,
  testConfig,
  type TestDatabase,
} from "./helpers.js";
import { renderedLoadBalancing, startPgPair, type PgPair } from "./pg-pair.js";

const TOKEN = "replication-test-token-0123456789";
const auth = { authorization: `Bearer ${TOKEN}` };

let pair: PgPair;
let app: FastifyInstance;
let standby: pg.Client;
let viaPgpool: pg.Client;

beforeAll(async () => {
  pair = await startPgPair();
  const db = {
    name: "app",
    user: "app",
    password: "unused (trust)",
    host: "127.0.0.1",
    port: pair.pgpoolPort,
  } as TestDatabase;
  const config = testConfig(db, { adminToken: TOKEN, heartbeatIntervalSeconds: 1 });
  await migrate(config.database, MIGRATIONS_DIR, silentLog);
  app = await buildTestApp(config);
  await app.ready();
  standby = await pair.node("standby");
  viaPgpool = new pg.Client({
    host: "127.0.0.1",
    port: pair.pgpoolPort,
    user: "app",
    database: "app",
  });
  await viaPgpool.connect();
}, 120_000);

afterAll(async () => {
  await app?.close();
  await standby?.end();
  await viaPgpool?.end();
  await pair?.stop();
});

/** What a load-balanced read through pgpool (no hint) sees of a user. */
async function balancedRead(id: number) {
  const { rows } = await viaPgpool.query<{ name: string; standby: boolean }>(
    `SELECT name, current_setting('in_hot_standby') = 'on' AS standby FROM users WHERE id = $1
     UNION ALL SELECT NULL, current_setting('in_hot_standby') = 'on' LIMIT 2`,
    [id],
  );
  return { name: rows.find((r) => r.name !== null)?.name ?? null, fromStandby: rows[0]!.standby };
}

describe("read-your-writes through pgpool", () => {
  it("uses the stack's load-balancing settings", () => {
    expect(renderedLoadBalancing()).toEqual({
      load_balance_mode: "on",
      statement_level_load_balance: "on",
      disable_load_balance_on_write: "'transaction'",
      database_redirect_preference_list: "'app:standby'",
    });
  });

  it("reads back every acknowledged write while the standby replays nothing", async () => {
    await standby.query("SELECT pg_wal_replay_pause()");
    try {
      const created = await app.inject({
        method: "POST",
        url: "/api/users",
        headers: auth,
        payload: { name: "Lagging Lovelace" },
      });
      expect(created.statusCode).toBe(201);
      const { id } = created.json();

      // The standby has not seen it, and pgpool sends plain reads there.
      expect(await balancedRead(id)).toEqual({ name: null, fromStandby: true });

      // Every user read of the app goes to the primary and sees it at once.
      expect((await app.inject(`/api/users/${id}`)).json().name).toBe("Lagging Lovelace");
      const page = (await app.inject(`/api/users?after=${id - 1}&limit=1`)).json();
      expect(page.users.map((u: { id: number }) => u.id)).toEqual([id]);
      expect((await app.inject(`/?user_id=${id}`)).statusCode).toBe(200);

      const changed = await app.inject({
        method: "PUT",
        url: `/api/users/${id}`,
        headers: auth,
        payload: { name: "Ada Lovelace" },
      });
      expect(changed.statusCode).toBe(200);
      expect((await app.inject(`/api/users/${id}`)).json().name).toBe("Ada Lovelace");

      const deleted = await app.inject({
        method: "DELETE",
        url: `/api/users/${id}`,
        headers: auth,
      });
      expect(deleted.statusCode).toBe(204);
      expect((await app.inject(`/api/users/${id}`)).statusCode).toBe(404);
      expect((await app.inject(`/?user_id=${id}`)).statusCode).toBe(400);
    } finally {
      await standby.query("SELECT pg_wal_replay_resume()");
    }
  });
});

describe("the status board behind pgpool", () => {
  it("shows pgpool's two nodes, the standby streaming, and the node states the replicas recorded", async () => {
    // Give the heartbeat a moment to record pgpool's node states.
    for (let i = 0; i < 40; i++) {
      const { rows } = await viaPgpool.query(
        "/*NO LOAD BALANCE*/ SELECT count(*)::int AS n FROM pool_node_events",
      );
      if (rows[0].n >= 2) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const s = (await app.inject("/api/status")).json();
    expect(s.poolNodes.ok).toBe(true);
    expect(
      s.poolNodes.value.map((n: Record<string, string>) => [
        n.node_id,
        n.role,
        n.status,
        n.pg_role,
      ]),
    ).toEqual([
      ["0", "primary", "up", "primary"],
      ["1", "standby", "up", "standby"],
    ]);
    expect(s.poolNodes.value[0]).toHaveProperty("replication_delay");
    expect(s.poolNodes.value[0]).toHaveProperty("last_status_change");
    expect(s.replication.value.timeline).toBe(1);
    expect(s.replication.value.standbys).toHaveLength(1);
    expect(
      s.events.value.map((e: { nodeId: number; what: string }) => [e.nodeId, e.what]).sort(),
    ).toEqual([
      [0, "first seen"],
      [1, "first seen"],
    ]);
    const html = (await app.inject("/status")).body;
    expect(html).toContain("<td>primary</td>");
    expect(html).not.toContain('class="mismatch"');
  });
});
