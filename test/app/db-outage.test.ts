// Reads ride out a short database outage (a pgpool restart: every connection cut, new ones
// refused for a few seconds); writes are not retried; errors in the query itself fail at once.
import { setTimeout as delay } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "../../app/src/app.js";
import {
  DEFAULT_READ_RETRY_BUDGET_MS,
  isTransientDbError,
  retryingReads,
  type Queryable,
} from "../../app/src/db.js";
import {
  buildTestApp,
  createMigratedDatabase,
  silentLog,
  testConfig,
  type TestDatabase,
} from "./helpers.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

const RETRYING = "database read failed on a transient error; retrying";
const GIVING_UP = "database read still failing; retry budget spent, giving up";

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

let db: TestDatabase;

beforeAll(async () => {
  db = await createMigratedDatabase("outage");
});

afterAll(async () => {
  await db?.drop();
});

/** A logger that keeps what it was told. */
function recordingLog() {
  const lines: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) =>
    lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, info: at("info"), warn: at("warn"), error: at("error") };
}

/** `db` that counts the queries it is given. */
function counting(target: Queryable): Queryable & { calls: number } {
  const counted = {
    calls: 0,
    query: ((text: string, values?: unknown[]) => {
      counted.calls++;
      return target.query(text, values);
    }) as Queryable["query"],
  };
  return counted;
}

describe("the app through a pgpool restart", () => {
  let proxy: TcpProxy;
  let app: FastifyInstance;
  const logs: LogLine[] = [];

  beforeAll(async () => {
    proxy = await startTcpProxy({ host: db.host, port: db.port });
    const config = testConfig(db);
    app = await buildTestApp(
      { ...config, database: { ...config.database, host: "127.0.0.1", port: proxy.port } },
      {
        logger: {
          level: "warn",
          stream: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) },
        },
      },
    );
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await proxy?.close();
  });

  beforeEach(async () => {
    await proxy.restore();
    // The pool holds connections through the proxy, as it would through pgpool.
    expect((await app.inject("/api/users/1")).statusCode).toBe(200);
    logs.length = 0;
  });

  it("answers a read issued during a 1.5 s outage with 200 once the database is back", async () => {
    await proxy.cut();
    const started = Date.now();
    const back = delay(1_500).then(() => proxy.restore());
    const res = await app.inject("/api/users/1?during=outage");
    const elapsed = Date.now() - started;
    await back;

    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: 1, key: expect.stringMatching(/^key-/) });
    expect(elapsed).toBeGreaterThanOrEqual(1_400);
    const retries = logs.filter((l) => l.msg === RETRYING);
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries[0]).toMatchObject({ level: 40, attempt: 1, retryInMs: 100 });
    expect(retries).toContainEqual(
      expect.objectContaining({ err: expect.objectContaining({ code: "ECONNREFUSED" }) }),
    );
    expect(logs.map((l) => l.msg)).not.toContain(GIVING_UP);

    // The request log INSERT (a write) failed once and was not retried after the outage.
    expect(logs.filter((l) => l.msg === "could not log request")).toHaveLength(1);
    const { rows } = await db.pool.query("SELECT 1 FROM requests WHERE path LIKE '%during=outage'");
    expect(rows).toHaveLength(0);
  });

  it("answers every read route 503 'database unavailable' once the budget is spent", async () => {
    await proxy.cut();
    try {
      const results = await Promise.all(
        ["/api/users/1", "/api/info", "/api/requests", "/"].map(async (url) => {
          const started = Date.now();
          const res = await app.inject(url);
          return { url, res, elapsed: Date.now() - started };
        }),
      );
      for (const { url, res, elapsed } of results) {
        expect(res.statusCode, url).toBe(503);
        expect(res.body, url).toMatch(/database unavailable: connect ECONNREFUSED/i);
        expect(elapsed, url).toBeGreaterThanOrEqual(DEFAULT_READ_RETRY_BUDGET_MS - 100);
        expect(elapsed, url).toBeLessThan(DEFAULT_READ_RETRY_BUDGET_MS + 1_000);
      }
      expect(logs.filter((l) => l.msg === GIVING_UP).length).toBeGreaterThanOrEqual(4);
    } finally {
      await proxy.restore();
    }
    expect((await app.inject("/api/users/1")).statusCode).toBe(200);
  });

  it("keeps /readyz fast: it reports the outage at once", async () => {
    await proxy.cut();
    try {
      const started = Date.now();
      const res = await app.inject("/readyz");
      expect(res.statusCode).toBe(503);
      expect(res.json().reason).toMatch(/^database unreachable through 127\.0\.0\.1:\d+: /);
      expect(Date.now() - started).toBeLessThan(500);
      expect(logs.map((l) => l.msg)).not.toContain(RETRYING);
    } finally {
      await proxy.restore();
    }
  });
});

describe("retryingReads", () => {
  it("retries a read whose backend the server terminated (57P01) and returns its answer", async () => {
    const pool = new pg.Pool({ ...testConfig(db).database, max: 1 });
    const log = recordingLog();
    try {
      const db1 = counting(pool);
      const answer = retryingReads(db1, log).query<{ answer: string }>(
        "SELECT 'ok' AS answer FROM pg_sleep(0.3) /* terminate-me */",
      );
      // Terminate the backend while it runs, as pgpool does to its children on a failover.
      let terminated = 0;
      for (let i = 0; i < 100 && terminated === 0; i++) {
        const { rowCount } = await db.pool.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE query LIKE '%terminate-me%' AND state = 'active' AND pid <> pg_backend_pid()`,
        );
        terminated = rowCount ?? 0;
        if (terminated === 0) await delay(10);
      }
      expect(terminated).toBe(1);
      expect((await answer).rows).toEqual([{ answer: "ok" }]);
      expect(db1.calls).toBe(2);
      expect(log.lines).toEqual([
        {
          level: "warn",
          obj: { err: expect.objectContaining({ code: "57P01" }), attempt: 1, retryInMs: 100 },
          msg: RETRYING,
        },
      ]);
    } finally {
      await pool.end();
    }
  });

  it("does not retry an error in the query itself", async () => {
    const db1 = counting(db.pool);
    const log = recordingLog();
    await expect(retryingReads(db1, log).query("SELEC 1")).rejects.toMatchObject({
      code: "42601",
    });
    expect(db1.calls).toBe(1);
    expect(log.lines).toEqual([]);
  });

  it("does not retry a query that ran into query_timeout", async () => {
    const pool = new pg.Pool({ ...testConfig(db).database, max: 1, query_timeout: 200 });
    try {
      const db1 = counting(pool);
      const log = recordingLog();
      await expect(retryingReads(db1, log).query("SELECT pg_sleep(2)")).rejects.toThrow(
        "Query read timeout",
      );
      expect(db1.calls).toBe(1);
      expect(log.lines).toEqual([]);
    } finally {
      await pool.end();
    }
  });

  it("gives up when the budget is spent, with the last error, and says so", async () => {
    const pool = new pg.Pool({ host: "127.0.0.1", port: 1 });
    const down = counting(pool);
    const log = recordingLog();
    const started = Date.now();
    try {
      await expect(retryingReads(down, log, { budgetMs: 400 }).query("SELECT 1")).rejects.toThrow(
        /ECONNREFUSED/,
      );
    } finally {
      await pool.end();
    }
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(900);
    // 100 + 250 ms, then only what is left of the budget (about 50 ms) instead of 500.
    const retries = log.lines.filter((l) => l.msg === RETRYING).map((l) => l.obj.retryInMs);
    expect(retries.slice(0, 2)).toEqual([100, 250]);
    expect(retries.slice(2).every((ms) => typeof ms === "number" && ms <= 50)).toBe(true);
    expect(log.lines.at(-1)).toMatchObject({
      level: "warn",
      obj: { err: { code: "ECONNREFUSED" }, attempts: down.calls },
      msg: GIVING_UP,
    });
    expect(down.calls).toBe(retries.length + 1);
  });

  it.each([0.5, -1, 30_001, Number.NaN])("refuses the budget %s, naming what is allowed", (ms) => {
    expect(() => retryingReads(db.pool, silentLog, { budgetMs: ms })).toThrow(
      `retryingReads: budgetMs is ${ms}; allowed: a whole number of ms from 0 to 30000`,
    );
  });
});

describe("isTransientDbError", () => {
  const withCode = (code: string, message = `failed (${code})`) =>
    Object.assign(new Error(message), { code });

  it.each([
    ...["ECONNREFUSED", "ECONNRESET", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH"],
    ...["ETIMEDOUT", "08000", "08001", "08003", "08006", "08P01", "57P01", "57P02", "57P03"],
  ])("retries code %s", (code) => {
    expect(isTransientDbError(withCode(code))).toBe(true);
  });

  it.each([
    "Connection terminated",
    "Connection terminated unexpectedly",
    "Connection terminated due to connection timeout",
    "timeout exceeded when trying to connect",
  ])("retries pg's %j", (message) => {
    expect(isTransientDbError(new Error(message))).toBe(true);
  });

  it.each([
    "failed to create a backend connection",
    "unable to read message kind from backend 1 (127.0.0.1:5432)",
  ])("retries pgpool's XX000 %j", (message) => {
    expect(isTransientDbError(withCode("XX000", message))).toBe(true);
  });

  it.each([
    ["query_timeout", new Error("Query read timeout")],
    ["a syntax error", withCode("42601", 'syntax error at or near "SELEC"')],
    ["a unique violation", withCode("23505", "duplicate key value violates unique constraint")],
    ["a serialization failure", withCode("40001", "could not serialize access")],
    ["statement_timeout", withCode("57014", "canceling statement due to statement timeout")],
    ["another internal error", withCode("XX000", "cache lookup failed")],
    ["a pool used after end", new Error("Cannot use a pool after calling end on the pool")],
    ["a non-Error", "ECONNREFUSED"],
  ])("does not retry %s", (_what, err) => {
    expect(isTransientDbError(err)).toBe(false);
  });
});
