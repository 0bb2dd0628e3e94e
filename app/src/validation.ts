// Fastify's schema validation with two ajv instances, as Fastify's documentation shows for
// per-part options: query strings and path parameters are text, so their numbers are coerced;
// JSON bodies are checked as sent (Fastify's default would turn `{"name": 123}` into "123" and
// drop unknown keys silently), and an unknown key is a 400.
import { Ajv, type Options } from "ajv";
import type { FastifySchemaCompiler } from "fastify";

const common: Options = { allErrors: false, useDefaults: true, removeAdditional: false };
const text = new Ajv({ ...common, coerceTypes: true });
const json = new Ajv({ ...common, coerceTypes: false });

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === "body" ? json : text).compile(schema as object) as ReturnType<
    FastifySchemaCompiler<unknown>
  >;
