// GET /: the page, also for the old form GET /?user_id=N. Without a database it still renders,
// with the error and a 503.
import type { FastifyPluginAsync } from "fastify";
import type { AppOptions } from "../app.js";
import { errorSummary } from "../db.js";
import { lookUpUser, readOverview } from "../lookups.js";
import { renderPage, type PageData } from "../page.js";

const pages: FastifyPluginAsync<Pick<AppOptions, "config" | "shippedMigrations">> = async (
  app,
  { config, shippedMigrations },
) => {
  app.get<{ Querystring: Record<string, string | string[] | undefined> }>(
    "/",
    async (request, reply) => {
      const page: PageData = {
        replica: config.replicaIndex,
        hostname: config.hostname,
        appRole: config.role,
        dbNode: null,
        schemaVersion: null,
        requests: [],
        metrics: null,
      };
      let status = 200;
      try {
        const { node, schema, requests, metrics } = await readOverview(
          app.db.reads,
          shippedMigrations,
        );
        Object.assign(page, { dbNode: node, schemaVersion: schema.version, requests, metrics });
        if ("user_id" in request.query) {
          const found = await lookUpUser(app.db.reads, request.query.user_id);
          status = found.status;
          page.userLookup = found.status === 200 ? { user: found.user } : { error: found.message };
        }
      } catch (err) {
        status = 503;
        page.dbError = errorSummary(err).message;
      }
      return reply.code(status).type("text/html; charset=utf-8").send(renderPage(page));
    },
  );
};

export default pages;
