// Hostile input never yields a 5xx or a stack trace, and leaves the users table intact.
import type { FastifyInstance } from "../../app/src/app.js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildTestApp, createMigratedDatabase, testConfig, type TestDatabase } from "./helpers.js";

let db: TestDatabase;
let app: FastifyInstance;
let usersBefore: unknown[];

beforeAll(async () => {
  db = await createMigratedDatabase("hostile");
  app = await buildTestApp(testConfig(db));
  await app.ready();
  usersBefore = (await db.pool.query("SELECT * FROM users ORDER BY id")).rows;
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const ids = [
  "99999999999999999999999999999999999999",
  "9".repeat(500),
  "2147483648",
  "-1",
  "-2147483649",
  "0",
  "00",
  "1;DROP TABLE users",
  "1; DROP TABLE users; --",
  "' OR 1=1 --",
  "1' OR '1'='1",
  "1 OR 1=1",
  "1)",
  "NaN",
  "Infinity",
  "0x10",
  "1e5",
  " 1",
  "1 ",
  "١٢٣", // Arabic-Indic digits
  "１", // fullwidth digit one
  "😀",
  "é",
  "%00",
  "1%00",
  "%",
  "%zz",
  "..%2F..%2Fetc%2Fpasswd",
  "../../etc/passwd",
  "..",
  "null",
  "undefined",
  "[]",
  "{}",
  "$1",
  "\\x00",
];

const encoded = (raw: string) => (/%[0-9a-fA-F]{2}|%/.test(raw) ? raw : encodeURIComponent(raw));

/** Fastify answers ids longer than maxParamLength with 414; `/api/users/..` is `/api/`. */
const expectedStatus = (raw: string) => (raw.length > 200 ? 414 : raw === ".." ? 404 : 400);

it.each(ids)("GET /api/users/%j is a 4xx with a JSON reason", async (raw) => {
  const res = await app.inject(`/api/users/${encoded(raw)}`);
  expect(res.statusCode).toBe(expectedStatus(raw));
  expect(res.json().message).toEqual(expect.any(String));
  expect(res.body).not.toMatch(/\bat .+:\d+:\d+/);
});

it.each(ids)("GET /?user_id=%j is a 4xx page", async (raw) => {
  const res = await app.inject(`/?user_id=${encoded(raw)}`);
  expect(res.statusCode).toBeGreaterThanOrEqual(400);
  expect(res.statusCode).toBeLessThan(500);
  expect(res.body).not.toMatch(/\bat .+:\d+:\d+/);
});

const urls = [
  "/" + "a".repeat(4096),
  "/api/users/" + "1".repeat(4096),
  "/?user_id=" + "1".repeat(4096),
  "/api/users/",
  "/api/users",
  "/api/users/1/../../etc/passwd",
  "/%2e%2e/%2e%2e/etc/passwd",
  "/api/%00",
  "/%",
  "/%zz",
  "/api/users/1?user_id[]=1",
  "/?user_id[]=1",
  "/?user_id=1&user_id=2",
  "/?user_id",
  "/" + "é".repeat(100),
];

/** Every hostile GET above, for the tests that check what they left behind. */
async function sendEveryHostileRequest() {
  for (const raw of ids) {
    await app.inject(`/api/users/${encoded(raw)}`);
    await app.inject(`/?user_id=${encoded(raw)}`);
  }
  for (const url of urls) await app.inject(url);
}

it.each(urls)("GET %s never yields a 5xx", async (url) => {
  const res = await app.inject(url);
  expect(res.statusCode, url.slice(0, 80)).toBeLessThan(500);
  expect(res.body).not.toMatch(/\bat .+:\d+:\d+/);
});

it("refuses other methods and bodies without a 5xx", async () => {
  for (const method of ["POST", "PUT", "DELETE", "PATCH"] as const) {
    const res = await app.inject({
      method,
      url: "/api/users/1",
      headers: { "content-type": "application/json" },
      payload: "{not json",
    });
    expect(res.statusCode, method).toBeGreaterThanOrEqual(400);
    expect(res.statusCode, method).toBeLessThan(500);
  }
});

it("leaves the users table exactly as seeded", async () => {
  await sendEveryHostileRequest();
  const after = (await db.pool.query("SELECT * FROM users ORDER BY id")).rows;
  expect(after).toHaveLength(7);
  expect(after).toEqual(usersBefore);
});

it("logged the hostile paths as data, cut to 512 characters", async () => {
  await sendEveryHostileRequest();
  const { rows } = await db.pool.query<{ n: number; longest: number }>(
    "SELECT count(*)::int AS n, max(length(path))::int AS longest FROM requests",
  );
  expect(rows[0]!.n).toBeGreaterThan(ids.length * 2);
  expect(rows[0]!.longest).toBe(512);
});
