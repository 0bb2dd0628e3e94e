// The users API: GET /api/users (keyset pages), GET /api/users/:id, and the admin's writes
// POST /api/users, PUT /api/users/:id, DELETE /api/users/:id. Bodies are JSON, checked by the
// route schemas (../validation.ts) and bounded by bodyLimit. Reads are retried through a short
// outage and go to the primary (../users.ts says why); writes go to the primary once, never
// retried: a write whose reply was lost may have been applied.
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import type { AppOptions } from "../app.js";
import { requireAdmin } from "../auth.js";
import { errorSummary, isTransientDbError } from "../db.js";
import { MAX_USER_ID, parseUserId } from "../id.js";
import { lookUpUser } from "../lookups.js";
import { sendProblem } from "../problem.js";
import {
  createUser,
  deleteUser,
  KEY_MAX,
  KEY_MIN,
  KEY_PATTERN,
  listUsers,
  NAME_MAX,
  updateUser,
  writeRefusal,
} from "../users.js";

/** The largest body a write accepts; a name and a key fit many times over. */
export const USER_BODY_LIMIT = 4096;
export const LIST_LIMIT_DEFAULT = 20;

const fields = {
  // No control characters, no surrogate halves, no spaces at either end.
  name: {
    type: "string",
    minLength: 1,
    maxLength: NAME_MAX,
    pattern: "^(?![\\s])(?!.*[\\s]$)[^\\p{Cc}\\p{Cs}]+$",
  },
  key: { type: "string", minLength: KEY_MIN, maxLength: KEY_MAX, pattern: KEY_PATTERN },
} as const;

const createBody = {
  type: "object",
  additionalProperties: false,
  required: ["name"],
  properties: fields,
} as const;

const updateBody = {
  type: "object",
  additionalProperties: false,
  minProperties: 1,
  properties: fields,
} as const;

// Plain decimal digits only (no sign, exponent, spaces or leading zeros); one value each.
const listQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    limit: { type: "string", pattern: "^([1-9][0-9]?|100)$" },
    after: { type: "string", pattern: "^(0|[1-9][0-9]{0,9})$" },
  },
} as const;

interface UserBody {
  name?: string;
  key?: string;
}

const unavailable = (reply: FastifyReply, err: unknown) =>
  sendProblem(reply, 503, `database unavailable: ${errorSummary(err).message}`);

/** A failed write as an answer: the client's mistake (400/409), an outage (503), or thrown. */
function writeFailed(reply: FastifyReply, err: unknown) {
  const refused = writeRefusal(err);
  if (refused) return sendProblem(reply, refused.status, refused.message);
  if (isTransientDbError(err)) {
    return sendProblem(
      reply,
      503,
      `database unavailable: ${errorSummary(err).message}; the write is not confirmed, ` +
        "read the user back before sending it again",
    );
  }
  throw err;
}

const users: FastifyPluginAsync<Pick<AppOptions, "config">> = async (app, { config }) => {
  // Refused before the body is read: an anonymous client learns nothing about the schema.
  const admin = { onRequest: requireAdmin(config.adminToken, config.adminTokenFile) };

  app.get<{ Querystring: { limit?: string; after?: string } }>(
    "/api/users",
    { schema: { querystring: listQuery } },
    async (request, reply) => {
      const limit = Number(request.query.limit ?? LIST_LIMIT_DEFAULT);
      const after = Number(request.query.after ?? 0);
      if (after > MAX_USER_ID) {
        return sendProblem(reply, 400, `querystring/after must be at most ${MAX_USER_ID}`);
      }
      try {
        return await listUsers(app.db.reads, limit, after);
      } catch (err) {
        return unavailable(reply, err);
      }
    },
  );

  app.get<{ Params: { id: string } }>("/api/users/:id", async (request, reply) => {
    try {
      const found = await lookUpUser(app.db.reads, request.params.id);
      return found.status === 200 ? found.user : sendProblem(reply, found.status, found.message);
    } catch (err) {
      return unavailable(reply, err);
    }
  });

  app.post<{ Body: UserBody & { name: string } }>(
    "/api/users",
    { ...admin, bodyLimit: USER_BODY_LIMIT, schema: { body: createBody } },
    async (request, reply) => {
      try {
        const user = await createUser(app.db.pool, request.body);
        return reply.code(201).header("location", `/api/users/${user.id}`).send(user);
      } catch (err) {
        return writeFailed(reply, err);
      }
    },
  );

  app.put<{ Params: { id: string }; Body: UserBody }>(
    "/api/users/:id",
    { ...admin, bodyLimit: USER_BODY_LIMIT, schema: { body: updateBody } },
    async (request, reply) => {
      const id = parseUserId(request.params.id);
      if (!id.ok) return sendProblem(reply, 400, id.message);
      try {
        const user = await updateUser(app.db.pool, id.id, request.body);
        return user ?? sendProblem(reply, 404, `no user with id ${id.id}`);
      } catch (err) {
        return writeFailed(reply, err);
      }
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/api/users/:id",
    { ...admin, bodyLimit: USER_BODY_LIMIT },
    async (request, reply) => {
      const id = parseUserId(request.params.id);
      if (!id.ok) return sendProblem(reply, 400, id.message);
      try {
        if (await deleteUser(app.db.pool, id.id)) return reply.code(204).send();
        return sendProblem(reply, 404, `no user with id ${id.id}`);
      } catch (err) {
        return writeFailed(reply, err);
      }
    },
  );
};

export default users;
