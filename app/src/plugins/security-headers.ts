// The security-headers plugin: every answer, errors included, carries these headers.
import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy":
    "default-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
    "form-action 'self'; frame-ancestors 'none'",
};

const securityHeaders: FastifyPluginAsync = async (app) => {
  app.addHook("onRequest", async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });
};

export default fp(securityHeaders, { name: "security-headers", fastify: "5.x" });
