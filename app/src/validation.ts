// Fastify's schema validation without its defaults' leniency: Fastify's ajv coerces types in
// bodies (`{"name": 123}` would become "123") and drops unknown keys silently. This ajv checks
// values as sent and answers an unknown key with a 400. Query strings are text, so their
// schemas describe text (digit patterns), and the routes convert.
import { Ajv } from "ajv";
import type { FastifySchemaCompiler } from "fastify";

const ajv = new Ajv({
  allErrors: false,
  useDefaults: true,
  removeAdditional: false,
  coerceTypes: false,
});

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema }) =>
  ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;
