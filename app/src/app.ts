// The web app as a Fastify instance: routes, request log, error handling, chat, shutdown.
import { STATUS_CODES } from "node:http";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
} from "fastify";
import { attachChat, type Chat } from "./chat.js";
import type { Config } from "./config.js";
import {
  createPool,
  errorSummary,
  findUser,
  latestMetrics,
  logRequest,
  readDbNode,
  recentRequests,
  retryingReads,
} from "./db.js";
import { parseUserId } from "./id.js";
import { schemaStatus } from "./migrate.js";
import { FAVICON_SVG, PAGE_CSS, PAGE_JS, renderPage, type PageData } from "./page.js";

export type { FastifyInstance };

export interface AppOptions {
  readonly config: Config;
  /** Names of the migrations this image ships; /readyz wants all of them applied. */
  readonly shippedMigrations: readonly string[];
  /** Fastify's logger option; tests pass false. @default { level: config.logLevel } */
  readonly logger?: FastifyServerOptions["logger"];
  /**
   * How long each read of a page or API route retries through a database outage before the
   * route answers 503 (writes are never retried). @default DEFAULT_READ_RETRY_BUDGET_MS (4000)
   */
  readonly readRetryBudgetMs?: number;
}

/** Paths left out of the request log (probes would drown it). */
const UNLOGGED = new Set(["/healthz", "/readyz"]);

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy":
    "default-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
    "form-action 'self'; frame-ancestors 'none'",
};

function problem(status: number, message: string) {
  return { statusCode: status, error: STATUS_CODES[status] ?? "Error", message };
}

/** A short form of a request path for messages (paths can be kilobytes long). */
function shortPath(url: string): string {
  const path = url.split("?")[0] ?? url;
  return path.length > 100 ? `${path.slice(0, 100)}…` : path;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    // Longer ids get Fastify's 414 instead of reaching the handler.
    routerOptions: { maxParamLength: 200 },
  });
  // One slot on top of the query pool for the chat adapter's LISTEN connection.
  const pool = createPool(config.database, app.log, `ha-stack-app-${config.replicaIndex}`, 1);
  // A pgpool restart or failover cuts every connection for a few seconds. The read routes ride
  // that out here: nginx retrying their 503s on another replica would mark every replica failed
  // during a database outage they all share. The request log INSERT and /readyz use the pool.
  const reads = retryingReads(pool, app.log, { budgetMs: options.readRetryBudgetMs });
  /** What the page and /api/info show: the node that answered, the schema, requests, metrics. */
  const overview = () =>
    Promise.all([
      readDbNode(reads),
      schemaStatus(reads, options.shippedMigrations),
      recentRequests(reads),
      latestMetrics(reads),
    ]);
  const unavailable = (reply: FastifyReply, err: unknown) =>
    reply.code(503).send(problem(503, `database unavailable: ${errorSummary(err).message}`));
  const origin = { replica: config.replicaIndex, hostname: config.hostname };
  let chat: Chat | undefined;

  app.addHook("onReady", async () => {
    chat = attachChat(app.server, pool, app.log, origin);
  });
  // Stop the chat first (it publishes through the pool), then the pool.
  app.addHook("preClose", async () => {
    await chat?.close();
  });
  app.addHook("onClose", async () => {
    await pool.end();
  });

  app.addHook("onRequest", async (request, reply) => {
    reply.headers(SECURITY_HEADERS);
    const path = request.url.split("?")[0] ?? "";
    if (UNLOGGED.has(path)) return;
    try {
      await logRequest(pool, {
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

  app.setErrorHandler<FastifyError>((error, request, reply) => {
    const status =
      typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500
        ? error.statusCode
        : 500;
    if (status >= 500) {
      request.log.error({ err: error }, "request failed");
      return reply.code(500).send(problem(500, "internal error; the server log has details"));
    }
    return reply.code(status).send(problem(status, error.message));
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(problem(404, `no route for ${request.method} ${shortPath(request.url)}`)),
  );

  // Probes run every few seconds: log them only when something goes wrong.
  app.get("/healthz", { logLevel: "warn" }, async () => ({
    status: "alive",
    replica: config.replicaIndex,
  }));

  // Not retried: readiness reports the database as it is now, within the healthcheck's 2 s, and
  // Docker's healthcheck retries already let a blip of a few seconds pass.
  app.get("/readyz", { logLevel: "warn" }, async (_request, reply) => {
    try {
      const schema = await schemaStatus(pool, options.shippedMigrations);
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

  app.get("/api/info", async (_request, reply) => {
    try {
      const [node, schema, requests, metrics] = await overview();
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
      return { requests: await recentRequests(reads) };
    } catch (err) {
      return unavailable(reply, err);
    }
  });

  app.get<{ Params: { id: string } }>("/api/users/:id", async (request, reply) => {
    const parsed = parseUserId(request.params.id);
    if (!parsed.ok) return reply.code(400).send(problem(400, parsed.message));
    try {
      const user = await findUser(reads, parsed.id);
      if (!user) return reply.code(404).send(problem(404, `no user with id ${parsed.id}`));
      return user;
    } catch (err) {
      return unavailable(reply, err);
    }
  });

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
        const [node, schema, requests, metrics] = await overview();
        Object.assign(page, { dbNode: node, schemaVersion: schema.version, requests, metrics });
        if ("user_id" in request.query) {
          const parsed = parseUserId(request.query.user_id);
          if (!parsed.ok) {
            status = 400;
            page.userLookup = { error: parsed.message };
          } else {
            const user = await findUser(reads, parsed.id);
            if (user) page.userLookup = { user };
            else {
              status = 404;
              page.userLookup = { error: `no user with id ${parsed.id}` };
            }
          }
        }
      } catch (err) {
        status = 503;
        page.dbError = errorSummary(err).message;
      }
      return reply.code(status).type("text/html; charset=utf-8").send(renderPage(page));
    },
  );

  app.get("/assets/app.css", async (_request, reply) =>
    reply.type("text/css; charset=utf-8").header("cache-control", "max-age=300").send(PAGE_CSS),
  );
  app.get("/assets/favicon.svg", async (_request, reply) =>
    reply.type("image/svg+xml").header("cache-control", "max-age=86400").send(FAVICON_SVG),
  );
  app.get("/assets/app.js", async (_request, reply) =>
    reply
      .type("application/javascript; charset=utf-8")
      .header("cache-control", "max-age=300")
      .send(PAGE_JS),
  );

  return app;
}
