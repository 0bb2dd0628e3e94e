// Configuration from the environment, validated by a JSON schema at boot (env-schema, the
// library behind @fastify/env). The names are the contract in docs/architecture.md.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import envSchema from "env-schema";

export type AppRole = "leader" | "follower";

/** Everything the app, the collector and the health checks read from the environment. */
export interface Config {
  readonly role: AppRole;
  readonly replicaIndex: number;
  readonly hostname: string;
  readonly host: string;
  readonly port: number;
  readonly logLevel: string;
  readonly database: DatabaseConfig;
  readonly migrationsDir: string;
  readonly collectorIntervalSeconds: number;
  readonly collectorHealthFile: string;
}

export interface DatabaseConfig {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** Upper bound of the query pool; the socket.io adapter's LISTEN client comes on top. */
  readonly poolMax: number;
}

interface Env {
  APP_ROLE: AppRole;
  REPLICA_INDEX: number;
  HOST: string;
  PORT: number;
  LOG_LEVEL: string;
  DATABASE_HOST: string;
  DATABASE_PORT: number;
  DATABASE_NAME: string;
  DATABASE_USER: string;
  DATABASE_PASSWORD_FILE: string;
  DATABASE_POOL_MAX: number;
  MIGRATIONS_DIR?: string;
  COLLECTOR_INTERVAL_SECONDS: number;
  COLLECTOR_HEALTH_FILE: string;
}

const schema = {
  type: "object",
  properties: {
    APP_ROLE: { type: "string", enum: ["leader", "follower"], default: "follower" },
    REPLICA_INDEX: { type: "integer", minimum: 0, maximum: 1000, default: 0 },
    HOST: { type: "string", minLength: 1, default: "0.0.0.0" },
    PORT: { type: "integer", minimum: 0, maximum: 65535, default: 3000 },
    LOG_LEVEL: {
      type: "string",
      enum: ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
      default: "info",
    },
    DATABASE_HOST: { type: "string", minLength: 1, default: "pgpool" },
    DATABASE_PORT: { type: "integer", minimum: 1, maximum: 65535, default: 9999 },
    DATABASE_NAME: { type: "string", minLength: 1, default: "app" },
    DATABASE_USER: { type: "string", minLength: 1, default: "app" },
    DATABASE_PASSWORD_FILE: {
      type: "string",
      minLength: 1,
      default: "/run/secrets/app-password",
    },
    DATABASE_POOL_MAX: { type: "integer", minimum: 1, maximum: 50, default: 5 },
    MIGRATIONS_DIR: { type: "string", minLength: 1 },
    COLLECTOR_INTERVAL_SECONDS: { type: "integer", minimum: 0, maximum: 86400, default: 15 },
    COLLECTOR_HEALTH_FILE: { type: "string", minLength: 1, default: "/tmp/collector-last-ok" },
  },
} as const;

/**
 * Reads and validates the environment. Throws an Error naming the offending variable and what
 * is allowed (ajv's message, e.g. `env/PORT must be <= 65535`), or naming the unreadable
 * password file.
 *
 * @param env the environment, normally `process.env`
 * @param defaultMigrationsDir where the image's migrations live (the entry knows its own path)
 */
export function loadConfig(env: NodeJS.ProcessEnv, defaultMigrationsDir: string): Config {
  const parsed = envSchema<Env>({ schema, data: { ...env }, env: false, dotenv: false });
  let password: string;
  try {
    password = readFileSync(parsed.DATABASE_PASSWORD_FILE, "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    throw new Error(
      `DATABASE_PASSWORD_FILE=${parsed.DATABASE_PASSWORD_FILE} cannot be read: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (password.length === 0) {
    throw new Error(`DATABASE_PASSWORD_FILE=${parsed.DATABASE_PASSWORD_FILE} is empty`);
  }
  return Object.freeze({
    role: parsed.APP_ROLE,
    replicaIndex: parsed.REPLICA_INDEX,
    hostname: hostname(),
    host: parsed.HOST,
    port: parsed.PORT,
    logLevel: parsed.LOG_LEVEL,
    database: Object.freeze({
      host: parsed.DATABASE_HOST,
      port: parsed.DATABASE_PORT,
      database: parsed.DATABASE_NAME,
      user: parsed.DATABASE_USER,
      password,
      poolMax: parsed.DATABASE_POOL_MAX,
    }),
    migrationsDir: parsed.MIGRATIONS_DIR ?? defaultMigrationsDir,
    collectorIntervalSeconds: parsed.COLLECTOR_INTERVAL_SECONDS,
    collectorHealthFile: parsed.COLLECTOR_HEALTH_FILE,
  });
}
