// The status board and the heartbeats behind it, against a migrated database (no pgpool here:
// test/app/replication.test.ts has one).
import type { FastifyInstance } from "../../app/src/app.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeChange } from "../../app/src/status.js";
import { buildTestApp, createMigratedDatabase, testConfig, type TestDatabase } from "./helpers.js";

let db: TestDatabase;
let app: FastifyInstance;

const stack = { name: "dev", replicas: 3, lbAlgorithm: "least_conn" };

beforeAll(async () => {
  db = await createMigratedDatabase("status");
  app = await buildTestApp(testConfig(db, { heartbeatIntervalSeconds: 1, stack }));
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
});

async function replicaRow(replica: number) {
  for (let i = 0; i < 50; i++) {
    const { rows } = await db.pool.query("SELECT * FROM app_replicas WHERE replica = $1", [
      replica,
    ]);
    if (rows[0]) return rows[0];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`replica ${replica} never reported in`);
}

describe("heartbeats", () => {
  it("a replica reports in at once with its host, role, schema version and ready state", async () => {
    const row = await replicaRow(1);
    expect(row).toMatchObject({
      replica: 1,
      hostname: "test-host",
      app_role: "follower",
      schema_version: "1735689600003_backup-status",
      ready: true,
    });
  });

  it("renews last_seen every interval", async () => {
    const first = (await replicaRow(1)).last_seen as Date;
    await new Promise((r) => setTimeout(r, 1300));
    expect(((await replicaRow(1)).last_seen as Date).getTime()).toBeGreaterThan(first.getTime());
  });

  it("keeps trying, without crashing, on a database not migrated yet", async () => {
    const empty = await createMigratedDatabase("status_empty");
    await empty.pool.query("DROP TABLE app_replicas");
    const early = await buildTestApp(testConfig(empty, { heartbeatIntervalSeconds: 1 }));
    try {
      await early.ready();
      await new Promise((r) => setTimeout(r, 1200));
      expect((await early.inject("/healthz")).statusCode).toBe(200);
    } finally {
      await early.close();
      await empty.drop();
    }
  });
});

describe("GET /api/status", () => {
  it("shows the replicas with their health, the stack, replication from the primary and metrics", async () => {
    await replicaRow(1);
    await db.pool.query(
      `INSERT INTO app_replicas (replica, hostname, app_role, schema_version, ready, started_at, last_seen)
       VALUES (0, 'app-0', 'leader', 'v', true, now(), now() - interval '1 minute'),
              (2, 'app-2', 'follower', 'v', false, now(), now()),
              (5, 'app-5', 'follower', 'v', true, now(), now())
       ON CONFLICT (replica) DO NOTHING`,
    );
    await db.pool.query(
      `INSERT INTO metrics (hostname, load1, load5, load15, mem_total_bytes, mem_free_bytes,
         disk_total_bytes, disk_free_bytes)
       VALUES ('collector-x', 0.5, 0.2, 0.1, 8e9, 6e9, 1e11, 5e10), ('collector-x', 1.5, 0.4, 0.2, 8e9, 2e9, 1e11, 5e10)`,
    );
    const res = await app.inject("/api/status");
    expect(res.statusCode).toBe(200);
    const s = res.json();
    expect(s.servedBy).toEqual({ replica: 1, hostname: "test-host" });
    expect(s.stack).toEqual(stack);
    expect(
      s.replicas.value.map((r: { replica: number; health: string }) => [r.replica, r.health]),
    ).toEqual([
      [0, "silent"],
      [1, "up"],
      [2, "not ready"],
      [5, "removed"],
    ]);
    // No pgpool in front of this database: said so, not an error.
    expect(s.poolNodes).toEqual({ ok: true, value: null });
    expect(s.replication).toEqual({ ok: true, value: { timeline: 1, standbys: [] } });
    expect(s.events).toEqual({ ok: true, value: [] });
    expect(s.metrics.value).toMatchObject([
      { load1: 0.5, memUsed: 0.25 },
      { load1: 1.5, memUsed: 0.75 },
    ]);
  });

  it("shows no backup and the archiver's counters until the backup container reports", async () => {
    const s = (await app.inject("/api/status")).json();
    expect(s.backups).toEqual({
      ok: true,
      value: {
        last: null,
        count: 0,
        window: { earliest: null, latest: null },
        reportedAt: null,
        // This throwaway cluster archives nothing.
        archiver: {
          archivedCount: 0,
          lastArchivedWal: null,
          lastArchivedAt: null,
          failedCount: 0,
          lastFailedWal: null,
          lastFailedAt: null,
        },
      },
    });
    expect((await app.inject("/status")).body).toContain(
      "No backup yet (no report from a backup container).",
    );
  });

  it("shows the last backup (time, size, type) and the recoverable window the backup container reported", async () => {
    const backup = (label: string, type: string, stop: string, size: number) => ({
      label,
      type,
      start: stop,
      stop,
      size,
      repoSize: Math.round(size / 8),
      wal: { start: "000000010000000000000002", stop: "000000010000000000000002" },
      prior: null,
    });
    const info = {
      status: "ok",
      backups: [
        backup("20261203-060000F", "full", "2026-12-03T06:00:05Z", 50 * 1024 * 1024),
        backup(
          "20261203-060000F_20261203-070000D",
          "diff",
          "2026-12-03T07:00:03Z",
          52 * 1024 * 1024,
        ),
      ],
      archive: { min: "000000010000000000000001", max: "000000020000000000000009" },
      window: { earliest: "2026-12-03T06:00:05Z", latest: "2026-12-03T07:12:00.250Z" },
    };
    await db.pool.query(
      "INSERT INTO backup_status (id, info, updated_at) VALUES (1, $1, '2026-12-03T07:13:00Z')",
      [JSON.stringify(info)],
    );
    try {
      const s = (await app.inject("/api/status")).json();
      expect(s.backups.value).toMatchObject({
        last: {
          label: "20261203-060000F_20261203-070000D",
          type: "diff",
          stop: "2026-12-03T07:00:03Z",
          size: 52 * 1024 * 1024,
          repoSize: 6.5 * 1024 * 1024,
        },
        count: 2,
        window: info.window,
        reportedAt: "2026-12-03T07:13:00.000Z",
      });
      const html = (await app.inject("/status")).body;
      expect(html).toContain(
        'Last backup <strong id="last-backup">20261203-060000F_20261203-070000D</strong> (diff), finished 2026-12-03T07:00:03Z: 52.0 MiB of data, 6.5 MiB in the repository. 2 backups kept.',
      );
      expect(html).toContain(
        '<span id="recoverable-window">from 2026-12-03T06:00:05Z to 2026-12-03T07:12:00.250Z</span>',
      );
    } finally {
      await db.pool.query("DELETE FROM backup_status");
    }
  });

  it("answers 503, with each part's reason, when the database is away", async () => {
    const broken = await buildTestApp(
      testConfig(db, { database: { ...testConfig(db).database, port: 1 } }),
      { readRetryBudgetMs: 100 },
    );
    try {
      const res = await broken.inject("/api/status");
      expect(res.statusCode).toBe(503);
      expect(res.json().replicas).toEqual({
        ok: false,
        error: expect.stringMatching(/ECONNREFUSED|connect/),
      });
      const page = await broken.inject("/status");
      expect(page.statusCode).toBe(503);
      expect(page.body).toContain("Cannot read this:");
    } finally {
      await broken.close();
    }
  });
});

describe("GET /status", () => {
  it("renders the board: replicas, nodes, replication, history, a chart, and refreshes itself", async () => {
    const res = await app.inject("/status");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    const html = res.body;
    expect(html).toContain('<main class="wrap" id="board">');
    expect(html).toContain('<dt>Balancing</dt><dd id="stack-lb">least_conn</dd>');
    expect(html).toMatch(/<tr class="health-up"><td>1<\/td><td>up<\/td><td>test-host<\/td>/);
    expect(html).toContain("The app talks to PostgreSQL directly here, not through pgpool.");
    expect(html).toContain('Timeline <strong id="timeline">1</strong>');
    expect(html).toMatch(/<svg class="chart" viewBox="0 0 320 90"[^>]*role="img"/);
    expect(html).toContain('<script src="/assets/status.js" defer></script>');
    const js = await app.inject("/assets/status.js");
    expect(js.statusCode).toBe(200);
    expect(() => new Function(js.body)).not.toThrow();
    expect(js.body).toContain('getElementById("board")');
  });

  it("escapes what the replicas wrote", async () => {
    await db.pool.query(
      `INSERT INTO app_replicas (replica, hostname, app_role, schema_version, ready, started_at)
       VALUES (9, '<img src=x onerror=alert(1)>', 'follower', null, true, now())`,
    );
    const html = (await app.inject("/status")).body;
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });
});

describe("the failover history", () => {
  it.each([
    [null, null, "standby", "up", "first seen"],
    ["standby", "up", "primary", "up", "promoted to primary"],
    ["primary", "up", "standby", "up", "became standby"],
    ["standby", "up", "standby", "down", "detached"],
    ["standby", "down", "standby", "waiting", "attached (waiting)"],
  ])("%s/%s → %s/%s is %j", (prevRole, prevStatus, role, status, what) => {
    expect(describeChange(prevRole, prevStatus, role, status)).toBe(what);
  });
});
