// GET /healthz (the process is alive) and GET /readyz (the database answers through pgpool and
// its schema is the one this image ships). Neither is written to the request log.
import type { FastifyPluginAsync } from "fastify";
import type { AppOptions } from "../app.js";
import { errorSummary } from "../db.js";
import { schemaStatus } from "../migrate.js";

const health: FastifyPluginAsync<Pick<AppOptions, "config" | "shippedMigrations">> = async (
  app,
  { config, shippedMigrations },
) => {
  // Probes run every few seconds: log them only when something goes wrong.
  app.get("/healthz", { logLevel: "warn" }, async () => ({
    status: "alive",
    replica: config.replicaIndex,
  }));

  // Not retried: readiness reports the database as it is now, within the healthcheck's 2 s, and
  // Docker's healthcheck retries already let a blip of a few seconds pass.
  app.get("/readyz", { logLevel: "warn" }, async (_request, reply) => {
    try {
      const schema = await schemaStatus(app.db.pool, shippedMigrations);
      if (schema.upToDate) return { status: "ready", schemaVersion: schema.version };
      return reply.code(503).send({
        status: "not ready",
        reason:
          `schema is behind this image: ${schema.missing.length} migration(s) not applied ` +
          `(${schema.missing.join(", ")})`,
        schemaVersion: schema.version,
      });
    } catch (err) {
      return reply.code(503).send({
        status: "not ready",
        reason: `database unreachable through ${config.database.host}:${config.database.port}: ${errorSummary(err).message}`,
      });
    }
  });
};

export default health;
