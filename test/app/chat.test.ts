// The chat across two app instances (two servers, one database) through the Postgres adapter,
// over the websocket transport only, as the page's client connects.
import type { FastifyInstance } from "../../app/src/app.js";
import { io as connect, type Socket } from "socket.io-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ChatAck, ChatMessage } from "../../app/src/chat.js";
import { buildTestApp, createMigratedDatabase, testConfig, type TestDatabase } from "./helpers.js";
import { startTcpProxy } from "./tcp-proxy.js";

let db: TestDatabase;
const apps: FastifyInstance[] = [];
const urls: string[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  db = await createMigratedDatabase("chat");
  for (const replica of [1, 2]) {
    const app = await buildTestApp(
      testConfig(db, { replicaIndex: replica, hostname: `app-${replica}` }),
    );
    urls.push(await app.listen({ host: "127.0.0.1", port: 0 }));
    apps.push(app);
  }
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await Promise.all(apps.map((a) => a.close()));
  await db?.drop();
});

function client(url: string): Promise<Socket> {
  const socket = connect(url, { transports: ["websocket"], reconnection: false, timeout: 5_000 });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

function next(socket: Socket, match: (m: ChatMessage) => boolean): Promise<ChatMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no chat message within 5 s")), 5_000);
    const on = (m: ChatMessage) => {
      if (!match(m)) return;
      clearTimeout(timer);
      socket.off("chat message", on);
      resolve(m);
    };
    socket.on("chat message", on);
  });
}

/** Waits until the adapters' LISTEN connections are up (they connect asynchronously). */
async function listenersReady() {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rows } = await db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN %'",
      [db.name],
    );
    if (rows[0]!.n >= 2) return;
    if (Date.now() > deadline) throw new Error(`only ${rows[0]!.n} LISTEN connections`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("chat", () => {
  // Messages cross instances only once both adapters listen (and again after a kill below).
  beforeEach(listenersReady);

  it("serves the socket.io browser client", async () => {
    const res = await fetch(`${urls[0]}/socket.io/socket.io.min.js`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Socket.IO");
  });

  it("tells each client which replica it is connected to", async () => {
    const socket = connect(urls[1]!, { transports: ["websocket"], reconnection: false });
    sockets.push(socket);
    const welcome = await new Promise((resolve, reject) => {
      socket.once("chat welcome", resolve);
      socket.once("connect_error", reject);
    });
    expect(welcome).toEqual({ replica: 2, hostname: "app-2" });
  });

  it("carries messages both ways between two instances", async () => {
    const [a, b] = await Promise.all([client(urls[0]!), client(urls[1]!)]);

    const atB = next(b, (m) => m.text === "hello from 1");
    const ackA = await a.emitWithAck("chat message", { name: "ann", text: "hello from 1" });
    expect(ackA).toEqual({ ok: true });
    expect(await atB).toMatchObject({
      name: "ann",
      text: "hello from 1",
      replica: 1,
      hostname: "app-1",
    });

    const atA = next(a, (m) => m.text === "hello from 2");
    const atBItself = next(b, (m) => m.text === "hello from 2");
    await b.emitWithAck("chat message", { text: "  hello from 2 " });
    expect(await atA).toMatchObject({ name: "anonymous", text: "hello from 2", replica: 2 });
    expect(await atBItself).toMatchObject({ replica: 2 });
  });

  it("rejects empty or oversized messages with a reason, broadcasting nothing", async () => {
    const a = await client(urls[0]!);
    const b = await client(urls[1]!);
    const seen: ChatMessage[] = [];
    b.on("chat message", (m: ChatMessage) => seen.push(m));
    const cases: [unknown, string][] = [
      [{ text: "" }, "text must be 1 to 500 characters"],
      [{ text: "x".repeat(501) }, "text must be 1 to 500 characters"],
      [{ text: "hi", name: "n".repeat(41) }, "name must be at most 40 characters"],
      ["just a string", "send an object { name?, text }"],
      [null, "send an object { name?, text }"],
    ];
    for (const [payload, error] of cases) {
      const ack: ChatAck = await a.emitWithAck("chat message", payload);
      expect(ack).toEqual({ ok: false, error });
    }
    // A valid message after the bad ones proves the channel works and nothing else came.
    const marker = next(b, (m) => m.text === "marker");
    await a.emitWithAck("chat message", { text: "marker" });
    await marker;
    expect(seen.map((m) => m.text)).toEqual(["marker"]);
  });

  it("counts the 500-character limit in characters, not UTF-16 units", async () => {
    const a = await client(urls[0]!);
    const b = await client(urls[1]!);
    const text = "😀".repeat(500);
    const got = next(b, (m) => m.text === text);
    expect(await a.emitWithAck("chat message", { text })).toEqual({ ok: true });
    await got;
    expect(await a.emitWithAck("chat message", { text: `${text}!` })).toEqual({
      ok: false,
      error: "text must be 1 to 500 characters",
    });
  });

  it("survives every database connection being killed (as in a pgpool failover)", async () => {
    const killed = await db.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = $1 AND application_name LIKE 'ha-stack-app-%'`,
      [db.name],
    );
    expect(killed.rowCount).toBeGreaterThanOrEqual(2); // at least both LISTEN connections
    // Queries open fresh connections; the adapters listen again within ~3 s.
    for (const url of urls) {
      let status = 0;
      for (let i = 0; i < 3 && status !== 200; i++)
        status = (await fetch(`${url}/api/info`)).status;
      expect(status).toBe(200);
    }
    await listenersReady();
    const [a, b] = await Promise.all([client(urls[0]!), client(urls[1]!)]);
    const atA = next(a, (m) => m.text === "after failover");
    await b.emitWithAck("chat message", { text: "after failover" });
    expect(await atA).toMatchObject({ replica: 2 });
  });
});

describe("closing", () => {
  // The adapter takes its LISTEN connection asynchronously after ready. A close that lands
  // while that connection is checked out but its LISTEN not yet answered must still hand it
  // back, or the pool's end waits for it forever and the replica never exits on SIGTERM.
  it("finishes while the chat's LISTEN is unanswered, and leaves no connection behind", async () => {
    const proxy = await startTcpProxy({ host: db.host, port: db.port }, { replyDelayMs: 300 });
    try {
      const config = testConfig(db, { replicaIndex: 9 });
      const app = await buildTestApp({
        ...config,
        database: { ...config.database, host: "127.0.0.1", port: proxy.port },
      });
      await app.ready();
      // The server has run the LISTEN; its answer is still in the proxy for up to 300 ms.
      const listening = () =>
        db.pool.query(
          "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND query LIKE 'LISTEN %'",
          [db.name, "ha-stack-app-9"],
        );
      await expect
        .poll(async () => (await listening()).rowCount, { timeout: 20_000, interval: 10 })
        .toBeGreaterThan(0);
      const closed = app.close().then(() => "closed");
      const timeout = new Promise((r) => setTimeout(r, 5_000, "still closing after 5 s"));
      expect(await Promise.race([closed, timeout])).toBe("closed");
    } finally {
      await proxy.close();
    }
    const left = await db.pool.query(
      "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
      [db.name, "ha-stack-app-9"],
    );
    expect(left.rowCount).toBe(0);
  }, 60_000);
});
