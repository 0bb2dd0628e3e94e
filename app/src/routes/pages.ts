// GET /: the page, also for the old form GET /?user_id=N, which answers as the original did: the
// user's key and the replica and port that served it, and a 400 for an id that is malformed or
// nobody has (the original's documented answer; /api/users/:id keeps its 404). Without a
// database it still renders, with the error and a 503.
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
        port: config.port,
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
          status = found.status === 200 ? 200 : 400;
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
