// Hostile input never yields a 5xx or a stack trace, and leaves the users table intact.
import type { FastifyInstance } from "../../app/src/app.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

describe("hostile bodies for the users API (with the admin token)", () => {
  const TOKEN = "hostile-admin-token-0123456789ab";
  let writer: FastifyInstance;

  beforeAll(async () => {
    writer = await buildTestApp(testConfig(db, { adminToken: TOKEN }));
    await writer.ready();
  });

  afterAll(async () => {
    await writer?.close();
  });

  const send = (method: "POST" | "PUT", url: string, payload: string) =>
    writer.inject({
      method,
      url,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      payload,
    });

  let deep = '"x"';
  for (let i = 0; i < 2000; i++) deep = `{"name":${deep}}`;
  const bodies: [string, string][] = [
    ["a number for name", '{"name": 42}'],
    ["an object for name", '{"name": {"first": "Ada"}}'],
    ["an array for name", '{"name": ["Ada", "Grace"]}'],
    ["null", "null"],
    ["a bare number", "12345"],
    ["a bare string", '"Ada"'],
    ["an empty object", "{}"],
    ["an empty body", ""],
    ["broken JSON", '{"name": "Ada"'],
    ["a trailing comma", '{"name": "Ada",}'],
    ["a huge name", JSON.stringify({ name: "x".repeat(3000) })],
    ["a huge body", JSON.stringify({ name: "Ada", pad: "y".repeat(100_000) })],
    ["a deep object", deep],
    ["a deep array", `{"name": ${"[".repeat(1000)}${"]".repeat(1000)}}`],
    ["__proto__", '{"name": "Ada", "__proto__": {"isAdmin": true}}'],
    ["constructor.prototype", '{"name": "Ada", "constructor": {"prototype": {"isAdmin": true}}}'],
    ["a constructor key", '{"name": "Ada", "constructor": 1}'],
    ["an id of our own", '{"name": "Ada", "id": 1}'],
    ["a duplicate of a seeded key", ""], // filled in below from the table
    ["a NUL in the name", '{"name": "Ada\\u0000"}'],
    ["a lone surrogate pair half", '{"name": "\\ud800"}'],
    ["an SQL fragment as key", '{"name": "Ada", "key": "x\'; DROP TABLE users; --"}'],
    ["a newline in the name", '{"name": "Ada\\nLovelace"}'],
    ["a name of spaces", '{"name": "   "}'],
  ];

  async function everyHostileWrite() {
    const seededKey = (usersBefore[1] as { key: string }).key;
    const answers: number[] = [];
    for (const [what, raw] of bodies) {
      const body =
        what === "a duplicate of a seeded key"
          ? JSON.stringify({ name: "Copy", key: seededKey })
          : raw;
      answers.push((await send("POST", "/api/users", body)).statusCode);
      answers.push((await send("PUT", "/api/users/1", body)).statusCode);
    }
    return answers;
  }

  it.each(bodies)("%s is a 4xx with a reason and no stack", async (what, raw) => {
    const body =
      what === "a duplicate of a seeded key"
        ? JSON.stringify({ name: "Copy", key: (usersBefore[1] as { key: string }).key })
        : raw;
    for (const [method, url] of [
      ["POST", "/api/users"],
      ["PUT", "/api/users/1"],
    ] as const) {
      const res = await send(method, url, body);
      expect(res.statusCode, `${method} ${what}`).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, `${method} ${what}`).toBeLessThan(500);
      expect(res.json().message).toEqual(expect.any(String));
      expect(res.body).not.toMatch(/\bat .+:\d+:\d+/);
    }
  });

  it("writes nothing for any of them: the users table is as seeded, Object.prototype untouched", async () => {
    const answers = await everyHostileWrite();
    expect(answers.every((s) => s >= 400 && s < 500)).toBe(true);
    expect((await db.pool.query("SELECT * FROM users ORDER BY id")).rows).toEqual(usersBefore);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it("stores names that look like SQL or are unusual unicode as data, exactly, and deletes them", async () => {
    const names = [
      "'; DROP TABLE users; --",
      "Robert'); DROP TABLE users;--",
      "1 OR 1=1",
      "$1",
      "\\x00",
      "__proto__",
      "Zoë 李 😀 ١٢٣ \u202etxt.exe",
      "a".repeat(100),
    ];
    const ids: number[] = [];
    for (const name of names) {
      const res = await send("POST", "/api/users", JSON.stringify({ name }));
      expect(res.statusCode, name).toBe(201);
      ids.push(res.json().id);
      expect((await writer.inject(`/api/users/${res.json().id}`)).json().name).toBe(name);
    }
    for (const id of ids) {
      const res = await writer.inject({
        method: "DELETE",
        url: `/api/users/${id}`,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.statusCode).toBe(204);
    }
    expect((await db.pool.query("SELECT * FROM users ORDER BY id")).rows).toEqual(usersBefore);
  });
});

it.each([
  "/api/users?limit=" + "9".repeat(400),
  "/api/users?after=' OR 1=1 --",
  "/api/users?limit[]=1",
  "/api/users?__proto__[x]=1",
  "/api/users?constructor=1",
  "/api/status?x=" + "é".repeat(200),
  "/status/%00",
])("GET %s never yields a 5xx", async (url) => {
  const res = await app.inject(url);
  expect(res.statusCode, url.slice(0, 80)).toBeLessThan(500);
  expect(res.body).not.toMatch(/\bat .+:\d+:\d+/);
});
