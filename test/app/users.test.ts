// The users API through fastify's inject: paging, the admin's writes and every 4xx they answer.
import type { FastifyInstance } from "../../app/src/app.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestApp, createMigratedDatabase, testConfig, type TestDatabase } from "./helpers.js";

const TOKEN = "test-admin-token-0123456789abcdef";
const auth = { authorization: `Bearer ${TOKEN}` };

let db: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  db = await createMigratedDatabase("users");
  app = await buildTestApp(testConfig(db, { adminToken: TOKEN }));
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
});

/** POSTs `payload` as JSON (any value, a bare string included) to /api/users. */
const post = (payload: unknown, headers: Record<string, string> = auth) =>
  app.inject({
    method: "POST",
    url: "/api/users",
    headers: { ...headers, "content-type": "application/json" },
    payload: JSON.stringify(payload),
  });

async function userRows() {
  return (await db.pool.query("SELECT id, name, key FROM users ORDER BY id")).rows;
}

describe("GET /api/users", () => {
  it("pages by id: limit, after and next", async () => {
    const first = await app.inject("/api/users?limit=3");
    expect(first.statusCode).toBe(200);
    const page = first.json();
    expect(page.users.map((u: { id: number }) => u.id)).toEqual([1, 2, 3]);
    expect(page.next).toBe(3);
    expect(page.users[0]).toMatchObject({ name: "Ada", key: expect.stringMatching(/^key-/) });
    expect(page.users[0].createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const second = (await app.inject("/api/users?limit=3&after=3")).json();
    expect(second.users.map((u: { id: number }) => u.id)).toEqual([4, 5, 6]);
    const last = (await app.inject("/api/users?limit=3&after=6")).json();
    expect(last).toMatchObject({ users: [{ id: 7 }], next: null });
  });

  it("gives 20 by default and nothing after the last id", async () => {
    const all = (await app.inject("/api/users")).json();
    expect(all.users.length).toBeGreaterThanOrEqual(7);
    expect(all.users.length).toBeLessThanOrEqual(20);
    expect((await app.inject("/api/users?after=2147483647")).json()).toEqual({
      users: [],
      next: null,
    });
  });

  it.each([
    "limit=1e2",
    "limit=+5",
    "limit=05",
    "limit=" + "9".repeat(400),
    "limit=0",
    "limit=101",
    "limit=abc",
    "limit=1.5",
    "after=-1",
    "after=2147483648",
    "limit=1&limit=2",
    "sort=name",
    "after=1;DROP TABLE users",
  ])("is 400 for ?%s, in the problem shape", async (query) => {
    const res = await app.inject(`/api/users?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ statusCode: 400, error: "Bad Request" });
    expect(res.json().message).toMatch(/^querystring/);
  });
});

describe("who may write", () => {
  it("refuses a write without the token: 401, WWW-Authenticate: Bearer, nothing written", async () => {
    const before = await userRows();
    for (const headers of [
      {},
      { authorization: "Bearer wrong-token-wrong-token" },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString("base64")}` },
      { authorization: TOKEN },
      { authorization: "Bearer" },
    ]) {
      for (const req of [
        { method: "POST" as const, url: "/api/users" },
        { method: "PUT" as const, url: "/api/users/1" },
        { method: "DELETE" as const, url: "/api/users/1" },
      ]) {
        const res = await app.inject({ ...req, headers, payload: { name: "Mallory" } });
        expect(res.statusCode, `${req.method} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers["www-authenticate"]).toMatch(/^Bearer /);
        expect(res.json()).toMatchObject({ statusCode: 401, error: "Unauthorized" });
      }
    }
    expect(await userRows()).toEqual(before);
  });

  it("refuses every write with 403 on a replica without an admin token", async () => {
    const closed = await buildTestApp(testConfig(db));
    try {
      const res = await closed.inject({
        method: "POST",
        url: "/api/users",
        headers: { authorization: "Bearer anything-at-all-really" },
        payload: { name: "Nobody" },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json().message).toBe(
        "writes are disabled: this replica has no admin token (/nonexistent/admin-token is absent)",
      );
      expect((await closed.inject("/api/users/1")).statusCode).toBe(200);
    } finally {
      await closed.close();
    }
  });

  it("lets reads through without a token", async () => {
    expect((await app.inject("/api/users/1")).statusCode).toBe(200);
    expect((await app.inject("/api/users")).statusCode).toBe(200);
  });
});

describe("POST /api/users", () => {
  it("creates a user with a generated key: 201, Location, readable at once", async () => {
    const res = await post({ name: "Frances" });
    expect(res.statusCode).toBe(201);
    const user = res.json();
    expect(user).toMatchObject({
      name: "Frances",
      key: expect.stringMatching(/^key-[0-9a-f]{32}$/),
    });
    expect(user.id).toBeGreaterThan(7);
    expect(res.headers.location).toBe(`/api/users/${user.id}`);
    expect((await app.inject(`/api/users/${user.id}`)).json()).toEqual(user);
  });

  it("takes a given key, and answers the same key again with 409, writing nothing", async () => {
    const created = await post({ name: "Edsger", key: "key-edsger-0001" });
    expect(created.statusCode).toBe(201);
    const before = await userRows();
    const again = await post({ name: "Someone else", key: "key-edsger-0001" });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual({
      statusCode: 409,
      error: "Conflict",
      message: "another user already has this key",
    });
    expect(await userRows()).toEqual(before);
  });

  it.each([
    [{}, "body must have required property 'name'"],
    [{ name: 123 }, "body/name must be string"],
    [{ name: ["Ada"] }, "body/name must be string"],
    [{ name: true }, "body/name must be string"],
    [{ name: null }, "body/name must be string"],
    [{ name: "" }, "body/name must NOT have fewer than 1 characters"],
    [{ name: "x".repeat(101) }, "body/name must NOT have more than 100 characters"],
    [{ name: " padded" }, "body/name must match pattern"],
    [{ name: "tab\tinside" }, "body/name must match pattern"],
    [{ name: "nul\u0000byte" }, "body/name must match pattern"],
    [{ name: "Ok", key: "short" }, "body/key must NOT have fewer than 8 characters"],
    [{ name: "Ok", key: "has a space" }, "body/key must match pattern"],
    [{ name: "Ok", key: 12345678 }, "body/key must be string"],
    [{ name: "Ok", id: 1 }, "body must NOT have additional properties"],
    [{ name: "Ok", isAdmin: true }, "body must NOT have additional properties"],
    [[{ name: "Ok" }], "body must be object"],
    ["Ok", "body must be object"],
  ])("is 400 for %j: %s", async (body, message) => {
    const before = await userRows();
    const res = await post(body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ statusCode: 400, error: "Bad Request" });
    expect(res.json().message).toContain(message);
    expect(await userRows()).toEqual(before);
  });

  it("is 413 for a body over 4 KiB, 415 for a body that is not JSON, 400 for broken JSON", async () => {
    const huge = await post({ name: "x".repeat(5000) });
    expect(huge.statusCode).toBe(413);
    expect(huge.json()).toMatchObject({ statusCode: 413, error: "Payload Too Large" });
    const form = await app.inject({
      method: "POST",
      url: "/api/users",
      headers: { ...auth, "content-type": "application/x-www-form-urlencoded" },
      payload: "name=Ada",
    });
    expect(form.statusCode).toBe(415);
    const broken = await app.inject({
      method: "POST",
      url: "/api/users",
      headers: { ...auth, "content-type": "application/json" },
      payload: '{"name": "Ada"',
    });
    expect(broken.statusCode).toBe(400);
  });

  it("stores unicode names as sent", async () => {
    const name = "Zoë 李 😀 ١٢٣";
    const res = await post({ name });
    expect(res.statusCode).toBe(201);
    expect((await app.inject(`/api/users/${res.json().id}`)).json().name).toBe(name);
  });
});

describe("PUT and DELETE /api/users/:id", () => {
  it("changes the fields given and updatedAt; 404 for nobody, 400 for a malformed id or {}", async () => {
    const user = (await post({ name: "Barbara L" })).json();
    const res = await app.inject({
      method: "PUT",
      url: `/api/users/${user.id}`,
      headers: auth,
      payload: { name: "Barbara Liskov" },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: user.id, name: "Barbara Liskov", key: user.key });
    expect(res.json().updatedAt >= user.updatedAt).toBe(true);
    const put = (url: string, payload: object) =>
      app.inject({ method: "PUT", url, headers: auth, payload });
    expect((await put("/api/users/2147483647", { name: "x" })).statusCode).toBe(404);
    expect((await put("/api/users/abc", { name: "x" })).statusCode).toBe(400);
    expect((await put(`/api/users/${user.id}`, {})).json().message).toBe(
      "body must NOT have fewer than 1 properties",
    );
  });

  it("is 409 for a key another user has", async () => {
    const seeded = (await app.inject("/api/users/1")).json();
    const res = await app.inject({
      method: "PUT",
      url: "/api/users/2",
      headers: auth,
      payload: { key: seeded.key },
    });
    expect(res.statusCode).toBe(409);
    expect((await app.inject("/api/users/2")).json().key).not.toBe(seeded.key);
  });

  it("deletes: 204, then 404 on read and on a second delete", async () => {
    const user = (await post({ name: "Temporary" })).json();
    const del = () => app.inject({ method: "DELETE", url: `/api/users/${user.id}`, headers: auth });
    const res = await del();
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe("");
    expect((await app.inject(`/api/users/${user.id}`)).statusCode).toBe(404);
    expect((await del()).statusCode).toBe(404);
  });
});

describe("writes are not retried", () => {
  it("a write answers 503 at once when the database is away; a read retries for its budget", async () => {
    const broken = await buildTestApp(
      testConfig(db, { adminToken: TOKEN, database: { ...testConfig(db).database, port: 1 } }),
      { readRetryBudgetMs: 1500 },
    );
    try {
      let started = Date.now();
      const write = await broken.inject({
        method: "POST",
        url: "/api/users",
        headers: auth,
        payload: { name: "Lost" },
      });
      const writeMs = Date.now() - started;
      expect(write.statusCode).toBe(503);
      expect(write.json().message).toMatch(/the write is not confirmed/);
      expect(writeMs).toBeLessThan(1000);
      started = Date.now();
      expect((await broken.inject("/api/users/1")).statusCode).toBe(503);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    } finally {
      await broken.close();
    }
  });
});
