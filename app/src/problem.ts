// Error answers in one shape, Fastify's own ({ statusCode, error, message }): the app's error and
// not-found handlers and the routes' 400, 404 and 503 answers all send it through here.
import { STATUS_CODES } from "node:http";
import type { FastifyReply } from "fastify";

export function sendProblem(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply
    .code(status)
    .send({ statusCode: status, error: STATUS_CODES[status] ?? "Error", message });
}

/** A short form of a request path for messages (paths can be kilobytes long). */
export function shortPath(url: string): string {
  const path = url.split("?")[0] ?? url;
  return path.length > 100 ? `${path.slice(0, 100)}…` : path;
}
