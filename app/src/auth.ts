// Who may write: a request that carries the admin token as `Authorization: Bearer <token>`.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { sendProblem } from "./problem.js";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/**
 * A preHandler that lets a request through only with the admin token. Missing or wrong: 401
 * with `WWW-Authenticate: Bearer`. No token configured: 403 for everyone (writes are never open
 * by default). The comparison runs in constant time over SHA-256 digests, so neither the
 * token's content nor its length shows in how long a refusal takes.
 */
export function requireAdmin(token: string | null, tokenFile: string) {
  const expected = token === null ? null : digest(token);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (expected === null) {
      return sendProblem(
        reply,
        403,
        `writes are disabled: this replica has no admin token (${tokenFile} is absent)`,
      );
    }
    const header = request.headers.authorization;
    const match = typeof header === "string" ? /^Bearer +(\S+) *$/i.exec(header) : null;
    if (match && timingSafeEqual(digest(match[1]!), expected)) return;
    reply.header("www-authenticate", 'Bearer realm="ha-stack"');
    return sendProblem(
      reply,
      401,
      match
        ? "the admin token does not match"
        : "this write needs the admin token: Authorization: Bearer <token>",
    );
  };
}
