// socket.io chat shared by every replica through @socket.io/postgres-adapter (LISTEN/NOTIFY).
import type { Server as HttpServer } from "node:http";
import { createAdapter } from "@socket.io/postgres-adapter";
import type pg from "pg";
import { Server } from "socket.io";
import { errorSummary, type Logger } from "./db.js";

export const CHAT_EVENT = "chat message";
/** Sent to each socket on connect: which replica it is connected to. */
export const WELCOME_EVENT = "chat welcome";
export const MAX_CHAT_TEXT = 500;
export const MAX_CHAT_NAME = 40;

export interface ChatMessage {
  name: string;
  text: string;
  replica: number;
  hostname: string;
  at: string;
}

export type ChatAck = { ok: true } | { ok: false; error: string };

/** Validates what a browser sent; the name defaults to "anonymous". */
export function parseChatPayload(
  payload: unknown,
): { ok: true; name: string; text: string } | { ok: false; error: string } {
  if (typeof payload !== "object" || payload === null) {
    return { ok: false, error: "send an object { name?, text }" };
  }
  const { name, text } = payload as { name?: unknown; text?: unknown };
  const chars = (s: string) => [...s].length; // code points: an emoji is one character
  if (typeof text !== "string" || text.trim().length === 0 || chars(text) > MAX_CHAT_TEXT) {
    return { ok: false, error: `text must be 1 to ${MAX_CHAT_TEXT} characters` };
  }
  if (name !== undefined && (typeof name !== "string" || chars(name) > MAX_CHAT_NAME)) {
    return { ok: false, error: `name must be at most ${MAX_CHAT_NAME} characters` };
  }
  return { ok: true, name: name?.trim() || "anonymous", text: text.trim() };
}

export interface Chat {
  io: Server;
  /** Disconnects every client, stops the adapter and releases its LISTEN connection. */
  close(): Promise<void>;
}

/**
 * Attaches socket.io to `httpServer` (it also serves /socket.io/socket.io.min.js).
 *
 * The adapter holds one pool connection for LISTEN. It re-acquires one ~2 s after that
 * connection ends (pgpool failover), but never releases the dead one; it releases a live one on
 * close only once its LISTEN has been answered (a close in between leaves it checked out, and the
 * pool's end then waits forever); and nothing stops it from acquiring a connection while the
 * server closes. The wrapper below releases an ended LISTEN connection (so failovers do not leak
 * pool slots), releases the one it handed out on close whatever the adapter did (each release at
 * most once), and parks connects after close.
 */
export function attachChat(
  httpServer: HttpServer,
  pool: pg.Pool,
  log: Logger,
  origin: { replica: number; hostname: string },
): Chat {
  let closing = false;
  let held: pg.PoolClient | undefined;
  const parked = new Promise<never>(() => {});
  const adapterPool = {
    query: pool.query.bind(pool),
    connect: async () => {
      if (closing) return parked;
      const client = await pool.connect();
      if (closing) {
        client.release();
        return parked;
      }
      const release = client.release.bind(client);
      let released = false;
      client.release = (err?: Error | boolean) => {
        if (released) return;
        released = true;
        if (held === client) held = undefined;
        release(err);
      };
      client.once("end", () => client.release(new Error("LISTEN connection ended")));
      held = client;
      return client;
    },
  } as unknown as pg.Pool; // the adapter calls only connect() and query()

  const io = new Server(httpServer, { serveClient: true, connectTimeout: 10_000 });
  io.adapter(
    createAdapter(adapterPool, {
      errorHandler: (err) => log.warn({ err: errorSummary(err) }, "socket.io adapter error"),
    }),
  );

  io.on("connection", (socket) => {
    socket.emit(WELCOME_EVENT, origin);
    socket.on(CHAT_EVENT, (payload: unknown, ack?: unknown) => {
      const reply = (a: ChatAck) => {
        if (typeof ack === "function") ack(a);
      };
      const parsed = parseChatPayload(payload);
      if (!parsed.ok) {
        reply({ ok: false, error: parsed.error });
        return;
      }
      const message: ChatMessage = {
        name: parsed.name,
        text: parsed.text,
        replica: origin.replica,
        hostname: origin.hostname,
        at: new Date().toISOString(),
      };
      io.emit(CHAT_EVENT, message);
      reply({ ok: true });
    });
  });

  return {
    io,
    close: async () => {
      closing = true;
      await io.close();
      // Destroyed rather than returned: its LISTEN may still be in flight.
      held?.release(new Error("chat closed"));
    },
  };
}
