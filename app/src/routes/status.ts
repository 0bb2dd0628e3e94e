// The status board: GET /status (the page) and GET /api/status (the same as JSON). Read-only and
// open, like the other reads; it answers 503 only when no part of it could be read.
import type { FastifyPluginAsync } from "fastify";
import type { AppOptions } from "../app.js";
import { readStatus, type Status } from "../status.js";
import { renderStatusPage } from "../status-page.js";

const PARTS = ["replicas", "poolNodes", "replication", "events", "metrics"] as const;
const httpStatus = (s: Status) => (PARTS.every((p) => !s[p].ok) ? 503 : 200);

const status: FastifyPluginAsync<Pick<AppOptions, "config">> = async (app, { config }) => {
  app.get("/api/status", async (_request, reply) => {
    const s = await readStatus(app.db.reads, config);
    return reply.code(httpStatus(s)).header("cache-control", "no-store").send(s);
  });

  app.get("/status", async (_request, reply) => {
    const s = await readStatus(app.db.reads, config);
    return reply
      .code(httpStatus(s))
      .header("cache-control", "no-store")
      .type("text/html; charset=utf-8")
      .send(renderStatusPage(s));
  });
};

export default status;
