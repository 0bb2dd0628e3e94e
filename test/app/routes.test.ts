// Every HTTP route through fastify's inject, against a migrated database.
import type { FastifyInstance } from "../../app/src/app.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shippedMigrations } from "../../app/src/migrate.js";
import {
  buildTestApp,
  createMigratedDatabase,
  MIGRATIONS_DIR,
  testConfig,
  type TestDatabase,
} from "./helpers.js";

let db: TestDatabase;
let app: FastifyInstance;
const shipped = shippedMigrations(MIGRATIONS_DIR);

beforeAll(async () => {
  db = await createMigratedDatabase("routes");
  app = await buildTestApp(testConfig(db));
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
});

async function loggedPaths(): Promise<string[]> {
  const { rows } = await db.pool.query<{ path: string }>("SELECT path FROM requests ORDER BY id");
  return rows.map((r) => r.path);
}

/** Sets the metrics table's rows, so no test depends on what another one wrote. */
async function metricsTable(rows: "empty" | "one collector-x row") {
  await db.pool.query("TRUNCATE metrics");
  if (rows === "empty") return;
  await db.pool.query(
    `INSERT INTO metrics (hostname, load1, load5, load15, mem_total_bytes, mem_free_bytes,
       disk_total_bytes, disk_free_bytes) VALUES ('collector-x', 0.5, 0.25, 0.125, 8e9, 4e9, 1e11, 5e10)`,
  );
}

describe("health", () => {
  it("GET /healthz answers 200 and is not logged", async () => {
    const res = await app.inject("/healthz");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: "alive", replica: 1 });
    expect(await loggedPaths()).not.toContain("/healthz");
  });

  it("GET /readyz is 200 with the newest migration when the schema is current", async () => {
    const res = await app.inject("/readyz");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ready", schemaVersion: shipped.at(-1) });
    expect(await loggedPaths()).not.toContain("/readyz");
  });
});

describe("GET /api/info", () => {
  it("names the replica, the container and the database node that answered", async () => {
    await metricsTable("empty");
    const res = await app.inject("/api/info");
    expect(res.statusCode).toBe(200);
    const info = res.json();
    expect(info).toMatchObject({
      replica: 1,
      hostname: "test-host",
      appRole: "follower",
      dbNode: `127.0.0.1:${db.port}`,
      dbRole: "primary",
      schemaVersion: shipped.at(-1),
      schemaUpToDate: true,
    });
    expect(info.requests[0]).toMatchObject({ method: "GET", path: "/api/info", replica: 1 });
    expect(info.metrics).toBeNull();
  });

  it("shows the latest metrics row once the collector wrote one", async () => {
    await metricsTable("one collector-x row");
    const info = (await app.inject("/api/info")).json();
    expect(info.metrics).toMatchObject({
      hostname: "collector-x",
      load1: 0.5,
      memTotalBytes: 8e9,
      diskFreeBytes: 5e10,
    });
  });
});

describe("request log", () => {
  it("logs method, path, replica and hostname of every request, newest first", async () => {
    await app.inject({ method: "GET", url: "/api/users/2?probe=log" });
    await app.inject({ method: "DELETE", url: "/nowhere" });
    const res = await app.inject("/api/requests");
    expect(res.statusCode).toBe(200);
    const { requests } = res.json();
    expect(requests.length).toBeLessThanOrEqual(25);
    expect(requests.slice(0, 3)).toMatchObject([
      { method: "GET", path: "/api/requests", replica: 1, hostname: "test-host" },
      { method: "DELETE", path: "/nowhere" },
      { method: "GET", path: "/api/users/2?probe=log" },
    ]);
    expect(requests[0].at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("returns only the last 25", async () => {
    for (let i = 0; i < 30; i++) await app.inject(`/api/users/1?n=${i}`);
    const { requests } = (await app.inject("/api/requests")).json();
    expect(requests).toHaveLength(25);
    expect(requests[1].path).toBe("/api/users/1?n=29");
  });
});

describe("GET /api/users/:id", () => {
  it("returns each seeded user 1-7 with a distinct key", async () => {
    const keys = new Set<string>();
    for (let id = 1; id <= 7; id++) {
      const res = await app.inject(`/api/users/${id}`);
      expect(res.statusCode).toBe(200);
      const user = res.json();
      expect(user).toMatchObject({
        id,
        name: expect.any(String),
        key: expect.stringMatching(/^key-[0-9a-f]{32}$/),
      });
      keys.add(user.key);
    }
    expect(keys.size).toBe(7);
  });

  it("is 404 for an id nobody has", async () => {
    const res = await app.inject("/api/users/8");
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      statusCode: 404,
      error: "Not Found",
      message: "no user with id 8",
    });
  });

  it.each(["abc", "0", "-1", "1.5", "01", "2147483648", "99999999999999999999", "1e3", "%20"])(
    "is 400 for the malformed id %j, naming what is allowed",
    async (id) => {
      const res = await app.inject(`/api/users/${id}`);
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toMatch(/^user id must be a whole number from 1 to 2147483647/);
    },
  );

  it("accepts the largest integer id and reports it missing", async () => {
    expect((await app.inject("/api/users/2147483647")).statusCode).toBe(404);
  });
});

describe("GET /", () => {
  it("renders an accessible page with replica, database node, requests and chat", async () => {
    await metricsTable("one collector-x row");
    const res = await app.inject("/");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    const html = res.body;
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html).toContain('<dd id="hostname">test-host</dd>');
    expect(html).toContain(`<dd id="db-node">127.0.0.1:${db.port}</dd>`);
    expect(html).toContain('<span id="db-role" class="role role-primary">primary</span>');
    expect(html).toContain('<th scope="col">Path</th>');
    expect(html).toContain('<label for="chat-text">Message</label>');
    expect(html).toContain('<script src="/socket.io/socket.io.min.js" defer></script>');
    expect(html).toContain("collector-x");
    expect(res.headers["content-security-policy"]).toContain("default-src 'self'");
  });

  it("escapes logged paths in the page", async () => {
    // Raw clients can send characters that inject's URL parsing would percent-encode.
    await db.pool.query(
      "INSERT INTO requests (method, path, replica, hostname) VALUES ('GET', $1, 9, 'raw')",
      ['/<script>alert("x")</script>'],
    );
    const html = (await app.inject("/")).body;
    expect(html).not.toContain('<script>alert("x")</script>');
    expect(html).toContain("/&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  });

  it("shows a user's key and the replica and port that served it for ?user_id=N", async () => {
    const user = (await app.inject("/api/users/3")).json();
    const res = await app.inject("/?user_id=3");
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(`<code id="user-key">${user.key}</code>`);
    expect(res.body).toContain('<dd id="user-served-by">replica 1 (test-host), port 0</dd>');
  });

  it("answers ?user_id with a 400 page for an id nobody has or a malformed one, as the original did", async () => {
    const missing = await app.inject("/?user_id=9");
    expect(missing.statusCode).toBe(400);
    expect(missing.body).toContain("no user with id 9");
    for (const bad of ["x", "0", "-3", "", "1&user_id=2", "<b>"]) {
      const res = await app.inject(
        `/?user_id=${encodeURIComponent(bad).replace("%26", "&").replace("%3D", "=")}`,
      );
      expect(res.statusCode, bad).toBe(400);
      expect(res.body).toContain("user id must be a whole number");
      expect(res.body).not.toContain("<b>");
    }
  });

  it("serves the page's script and stylesheet", async () => {
    const js = await app.inject("/assets/app.js");
    expect(js.statusCode).toBe(200);
    expect(js.headers["content-type"]).toBe("application/javascript; charset=utf-8");
    expect(js.body).toContain('io({ transports: ["websocket"] })');
    expect(() => new Function(js.body)).not.toThrow(); // the embedded formatters parse
    expect((await app.inject("/assets/app.css")).statusCode).toBe(200);
    const icon = await app.inject("/assets/favicon.svg");
    expect([icon.statusCode, icon.headers["content-type"]]).toEqual([200, "image/svg+xml"]);
  });
});

describe("errors", () => {
  it("answers unknown routes with a JSON 404 and no stack", async () => {
    const res = await app.inject("/no/such/page");
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      statusCode: 404,
      error: "Not Found",
      message: "no route for GET /no/such/page",
    });
  });

  it("answers a database outage with 503, never a stack trace", async () => {
    const broken = await buildTestApp(
      testConfig(db, { database: { ...testConfig(db).database, port: 1 } }),
      // Reads retry for this long before the 503 (db-outage.test.ts covers the retries).
      { readRetryBudgetMs: 200 },
    );
    try {
      for (const url of ["/readyz", "/api/info", "/api/users/1", "/", "/api/requests"]) {
        const res = await broken.inject(url);
        expect(res.statusCode, url).toBe(503);
        expect(res.body, url).not.toMatch(/at .*\.(ts|js):\d+/);
      }
      expect((await broken.inject("/readyz")).json().reason).toMatch(
        /^database unreachable through 127\.0\.0\.1:1: /,
      );
      expect((await broken.inject("/healthz")).statusCode).toBe(200);
    } finally {
      await broken.close();
    }
  });
});
