// Configuration from the environment, validated by a JSON schema at boot (env-schema, the
// library behind @fastify/env). The names are the contract in docs/architecture.md.
import { existsSync, readFileSync } from "node:fs";
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
  /**
   * The secret a write to /api/users must carry (`Authorization: Bearer …`), read from
   * ADMIN_TOKEN_FILE; null when that file is absent, and then every write is refused (403).
   */
  readonly adminToken: string | null;
  /** Where the admin token was looked for (named in the 403 and the boot warning). */
  readonly adminTokenFile: string;
  /** Seconds between this replica's heartbeats (the status board); 0 disables them. */
  readonly heartbeatIntervalSeconds: number;
  /** The stack as the Pulumi program configured it, shown on the status board. */
  readonly stack: StackInfo;
}

/** What the program passes about the whole stack (the board shows it; nothing depends on it). */
export interface StackInfo {
  /** STACK_NAME: the Pulumi stack, e.g. `dev`; null when not given. */
  readonly name: string | null;
  /** STACK_REPLICAS: how many app replicas the stack runs; null when not given. */
  readonly replicas: number | null;
  /** STACK_LB_ALGORITHM: nginx's balancing algorithm; null when not given. */
  readonly lbAlgorithm: string | null;
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
  ADMIN_TOKEN_FILE?: string;
  HEARTBEAT_INTERVAL_SECONDS: number;
  STACK_NAME?: string;
  STACK_REPLICAS?: number;
  STACK_LB_ALGORITHM?: string;
}

/** Where the admin token is read from when ADMIN_TOKEN_FILE is not set. */
export const DEFAULT_ADMIN_TOKEN_FILE = "/run/secrets/admin-token";
/** A shorter admin token is refused at boot: it could be guessed. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

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
    // The admin token's file (a generated secret, like the database password). Set: it must be
    // readable. Unset: DEFAULT_ADMIN_TOKEN_FILE if it exists, else writes are refused.
    ADMIN_TOKEN_FILE: { type: "string", minLength: 1 },
    HEARTBEAT_INTERVAL_SECONDS: { type: "integer", minimum: 0, maximum: 3600, default: 5 },
    STACK_NAME: { type: "string", minLength: 1, maxLength: 100 },
    STACK_REPLICAS: { type: "integer", minimum: 1, maximum: 1000 },
    STACK_LB_ALGORITHM: { type: "string", minLength: 1, maxLength: 40 },
  },
} as const;

/**
 * Reads and validates the environment. Throws an Error naming the offending variable and what
 * is allowed (ajv's message, e.g. `env/PORT must be <= 65535`), or naming an unreadable or empty
 * secret file (the database password; the admin token when ADMIN_TOKEN_FILE is set or its
 * default file exists), or an admin token shorter than MIN_ADMIN_TOKEN_LENGTH.
 *
 * @param env the environment, normally `process.env`
 * @param defaultMigrationsDir where the image's migrations live (the entry knows its own path)
 */
export function loadConfig(env: NodeJS.ProcessEnv, defaultMigrationsDir: string): Config {
  const parsed = envSchema<Env>({ schema, data: { ...env }, env: false, dotenv: false });
  const password = readSecret("DATABASE_PASSWORD_FILE", parsed.DATABASE_PASSWORD_FILE);
  const adminTokenFile = parsed.ADMIN_TOKEN_FILE ?? DEFAULT_ADMIN_TOKEN_FILE;
  const adminToken =
    parsed.ADMIN_TOKEN_FILE !== undefined || existsSync(adminTokenFile)
      ? readSecret("ADMIN_TOKEN_FILE", adminTokenFile)
      : null;
  if (adminToken !== null && adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new Error(
      `ADMIN_TOKEN_FILE=${adminTokenFile} holds ${adminToken.length} characters; ` +
        `allowed: at least ${MIN_ADMIN_TOKEN_LENGTH}`,
    );
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
    adminToken,
    adminTokenFile,
    heartbeatIntervalSeconds: parsed.HEARTBEAT_INTERVAL_SECONDS,
    stack: Object.freeze({
      name: parsed.STACK_NAME ?? null,
      replicas: parsed.STACK_REPLICAS ?? null,
      lbAlgorithm: parsed.STACK_LB_ALGORITHM ?? null,
    }),
  });
}

/** A secret file's content without its final newline; throws naming the variable when unreadable or empty. */
function readSecret(variable: string, file: string): string {
  let value: string;
  try {
    value = readFileSync(file, "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    throw new Error(`${variable}=${file} cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (value.length === 0) throw new Error(`${variable}=${file} is empty`);
  return value;
}
