// Shared helpers for the app tests: a database per test file, configs, spawning the entries.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { afterAll, inject } from "vitest";
import { buildApp, type AppOptions, type FastifyInstance } from "../../app/src/app.js";
import type { Config } from "../../app/src/config.js";
import type { Logger } from "../../app/src/db.js";
import { migrate, shippedMigrations } from "../../app/src/migrate.js";

export const APP_DIR = resolve(__dirname, "../../app");
export const MIGRATIONS_DIR = join(APP_DIR, "migrations");
/** The one logger the tests give the app's own code (migrate, retryingReads): it says nothing. */
export const silentLog: Logger = { info() {}, warn() {}, error() {} };

export interface TestDatabase {
  name: string;
  user: string;
  password: string;
  host: string;
  port: number;
  /** A pool as the database owner, for assertions. */
  pool: pg.Pool;
  drop(): Promise<void>;
}

/**
 * Creates a fresh database owned by a fresh login role (like the `app` role in the stack: the
 * owner, not a superuser), so test files run in parallel without sharing state.
 */
export async function createDatabase(prefix: string): Promise<TestDatabase> {
  const server = inject("pg");
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const admin = new pg.Client({ ...server, database: "postgres" });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE "${name}" LOGIN PASSWORD '${password}'`);
    await admin.query(`CREATE DATABASE "${name}" OWNER "${name}"`);
  } finally {
    await admin.end();
  }
  const pool = new pg.Pool({
    host: server.host,
    port: server.port,
    database: name,
    user: name,
    password,
    max: 3,
  });
  return {
    name,
    user: name,
    password,
    host: server.host,
    port: server.port,
    pool,
    drop: async () => {
      await pool.end();
      const c = new pg.Client({ ...server, database: "postgres" });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await c.query(`DROP ROLE IF EXISTS "${name}"`);
      } finally {
        await c.end();
      }
    },
  };
}

/** {@link createDatabase}, then the migrations this image ships applied, as the leader does. */
export async function createMigratedDatabase(prefix: string): Promise<TestDatabase> {
  const db = await createDatabase(prefix);
  await migrate(testConfig(db).database, MIGRATIONS_DIR, silentLog);
  return db;
}

/** The app on `config`, shipping app/migrations and logging nothing unless `options` say so. */
export function buildTestApp(
  config: Config,
  options: Partial<Omit<AppOptions, "config">> = {},
): Promise<FastifyInstance> {
  return buildApp({
    config,
    shippedMigrations: shippedMigrations(MIGRATIONS_DIR),
    logger: false,
    ...options,
  });
}

export function testConfig(db: TestDatabase, overrides: Partial<Config> = {}): Config {
  return {
    role: "follower",
    replicaIndex: 1,
    hostname: "test-host",
    host: "127.0.0.1",
    port: 0,
    logLevel: "silent",
    database: {
      host: db.host,
      port: db.port,
      database: db.name,
      user: db.user,
      password: db.password,
      poolMax: 5,
    },
    migrationsDir: MIGRATIONS_DIR,
    collectorIntervalSeconds: 1,
    collectorHealthFile: join(tmpDir(), "collector-last-ok"),
    adminToken: null,
    adminTokenFile: "/nonexistent/admin-token",
    // Off unless a test wants heartbeats: a timer writing in the background would race assertions.
    heartbeatIntervalSeconds: 0,
    stack: { name: null, replicas: null, lbAlgorithm: null },
    ...overrides,
  };
}

const tmpDirs: string[] = [];

/** A fresh temporary directory, removed after the test file. */
export function tmpDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hs-app-test-"));
  tmpDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of tmpDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The environment the containers get (docs/architecture.md), pointing at `db`. */
export function containerEnv(db: TestDatabase, extra: Record<string, string> = {}) {
  const passwordFile = join(tmpDir(), "app-password");
  writeFileSync(passwordFile, `${db.password}\n`);
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    DATABASE_HOST: db.host,
    DATABASE_PORT: String(db.port),
    DATABASE_NAME: db.name,
    DATABASE_USER: db.user,
    DATABASE_PASSWORD_FILE: passwordFile,
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    ...extra,
  };
}

export interface Spawned {
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>;
  output(): string;
  kill(signal?: NodeJS.Signals): void;
  /** Resolves once `pattern` appears in stdout/stderr; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * Runs an entry (`server`, `collector`, `healthcheck`, …) from app/src: node with tsx's loader,
 * in app/ (the image's WORKDIR). Not the tsx command: it passes a SIGTERM on to its child and
 * SIGKILLs it (exit 143) when the child does not confirm within 30 ms, as on a busy machine.
 */
export function runEntry(entry: string, env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, ["--import", "tsx", join(APP_DIR, "src", `${entry}.ts`)], {
    cwd: APP_DIR,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const l of listeners) l();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  return {
    exited,
    output: () => out,
    kill: (signal = "SIGTERM") => child.kill(signal),
    waitFor: (pattern, timeoutMs = 20_000) =>
      new Promise<void>((res, rej) => {
        const check = () => {
          if (pattern.test(out)) {
            listeners.delete(check);
            clearTimeout(timer);
            res();
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          rej(new Error(`timed out waiting for ${pattern} in output:\n${out}`));
        }, timeoutMs);
        listeners.add(check);
        void exited.then(() => {
          if (!pattern.test(out)) {
            listeners.delete(check);
            clearTimeout(timer);
            rej(new Error(`process exited before ${pattern} appeared; output:\n${out}`));
          }
        });
        check();
      }),
  };
}
