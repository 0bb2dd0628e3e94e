// The request-log plugin: every request but the probes becomes a row of the requests table.
import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import type { AppOptions } from "../app.js";
import { errorSummary, logRequest } from "../db.js";

/** Paths left out of the request log (probes would drown it). */
const UNLOGGED = new Set(["/healthz", "/readyz"]);

const requestLog: FastifyPluginAsync<Pick<AppOptions, "config">> = async (app, { config }) => {
  app.addHook("onRequest", async (request) => {
    const path = request.url.split("?")[0] ?? "";
    if (UNLOGGED.has(path)) return;
    try {
      await logRequest(app.db.pool, {
        method: request.method,
        path: request.url,
        replica: config.replicaIndex,
        hostname: config.hostname,
      });
    } catch (err) {
      // The request is still served; the page shows the database error itself.
      request.log.warn({ err: errorSummary(err) }, "could not log request");
    }
  });
};

export default fp(requestLog, { name: "request-log", dependencies: ["database"], fastify: "5.x" });
