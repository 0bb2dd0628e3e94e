// The web app as a Fastify plugin, in fastify/demo's layout: the shared plugins (plugins/), the
// error answers, then the routes (routes/). buildApp puts it on a Fastify instance for server.ts
// and the tests.
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyServerOptions,
} from "fastify";
import fp from "fastify-plugin";
import type { Config } from "./config.js";
import chat from "./plugins/chat.js";
import database from "./plugins/database.js";
import heartbeat from "./plugins/heartbeat.js";
import requestLog from "./plugins/request-log.js";
import securityHeaders from "./plugins/security-headers.js";
import { sendProblem, shortPath } from "./problem.js";
import api from "./routes/api.js";
import assets from "./routes/assets.js";
import health from "./routes/health.js";
import pages from "./routes/pages.js";
import status from "./routes/status.js";
import users from "./routes/users.js";
import { validatorCompiler } from "./validation.js";

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

/**
 * The app. buildApp registers it with fastify-plugin, on the instance itself rather than in a
 * child context, so its hooks and error answers cover every route, Fastify's 404s included.
 */
export const haStack: FastifyPluginAsync<Omit<AppOptions, "logger">> = async (app, options) => {
  await app.register(database, options);
  await app.register(chat, options);
  await app.register(securityHeaders);
  await app.register(requestLog, options);
  await app.register(heartbeat, options);
  app.setValidatorCompiler(validatorCompiler);

  app.setErrorHandler<FastifyError>((error, request, reply) => {
    const status =
      typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500
        ? error.statusCode
        : 500;
    if (status < 500) return sendProblem(reply, status, error.message);
    request.log.error({ err: error }, "request failed");
    return sendProblem(reply, 500, "internal error; the server log has details");
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, `no route for ${request.method} ${shortPath(request.url)}`),
  );

  await app.register(health, options);
  await app.register(api, options);
  await app.register(users, options);
  await app.register(status, options);
  await app.register(pages, options);
  await app.register(assets);
};

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { logger, ...appOptions } = options;
  const app = Fastify({
    logger: logger ?? { level: options.config.logLevel },
    // Longer ids get Fastify's 414 instead of reaching the handler.
    routerOptions: { maxParamLength: 200 },
  });
  await app.register(fp(haStack, { name: "ha-stack", fastify: "5.x" }), appOptions);
  return app;
}
