// The JSON API: GET /api/info and /api/requests (users: ./users.ts, the board: ./status.ts). Reads ride out a short database
// outage (app.db.reads); a database still unavailable after that is one 503 answer.
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import type { AppOptions } from "../app.js";
import { errorSummary, recentRequests } from "../db.js";
import { readOverview } from "../lookups.js";
import { sendProblem } from "../problem.js";

const unavailable = (reply: FastifyReply, err: unknown) =>
  sendProblem(reply, 503, `database unavailable: ${errorSummary(err).message}`);

const api: FastifyPluginAsync<Pick<AppOptions, "config" | "shippedMigrations">> = async (
  app,
  { config, shippedMigrations },
) => {
  app.get("/api/info", async (_request, reply) => {
    try {
      const { node, schema, requests, metrics } = await readOverview(
        app.db.reads,
        shippedMigrations,
      );
      return {
        replica: config.replicaIndex,
        hostname: config.hostname,
        appRole: config.role,
        dbNode: `${node.address}:${node.port}`,
        dbAddress: node.address,
        dbPort: node.port,
        dbRole: node.role,
        schemaVersion: schema.version,
        schemaUpToDate: schema.upToDate,
        requests,
        metrics,
      };
    } catch (err) {
      return unavailable(reply, err);
    }
  });

  app.get("/api/requests", async (_request, reply) => {
    try {
      return { requests: await recentRequests(app.db.reads) };
    } catch (err) {
      return unavailable(reply, err);
    }
  });
};

export default api;
