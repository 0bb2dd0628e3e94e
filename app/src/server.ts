// Entry of the app container: read config, migrate when leader, serve, shut down on signals.
import { fileURLToPath } from "node:url";
import { buildApp } from "./app.js";
import { loadConfig, type Config } from "./config.js";
import { migrate, shippedMigrations } from "./migrate.js";

const SHUTDOWN_GRACE_MS = 8_000;

function fail(message: string): never {
  // Before the logger exists: one JSON line in pino's shape.
  process.stdout.write(`${JSON.stringify({ level: 60, time: Date.now(), msg: message })}\n`);
  process.exit(1);
}

let config: Config;
let shipped: string[];
try {
  config = loadConfig(process.env, fileURLToPath(new URL("../migrations", import.meta.url)));
  shipped = shippedMigrations(config.migrationsDir);
} catch (error) {
  fail(`invalid configuration: ${(error as Error).message}`);
}

const app = await buildApp({ config, shippedMigrations: shipped });
app.log.info(
  { role: config.role, replica: config.replicaIndex, migrations: shipped.length },
  "starting",
);

if (config.role === "leader") {
  try {
    const applied = await migrate(config.database, config.migrationsDir, app.log);
    app.log.info({ applied }, applied.length ? "migrations applied" : "schema already current");
  } catch (error) {
    app.log.fatal(
      { err: error, migrationsDir: config.migrationsDir },
      `migration failed, exiting: ${(error as Error).message}`,
    );
    await app.close().catch(() => undefined);
    process.exit(1);
  }
}

let shuttingDown = false;
const shutdown = (signal: NodeJS.Signals) => {
  if (shuttingDown) return;
  shuttingDown = true;
  app.log.info({ signal }, "shutting down: finishing in-flight requests");
  const force = setTimeout(() => {
    app.log.warn("shutdown took too long; exiting");
    process.exit(1);
  }, SHUTDOWN_GRACE_MS);
  force.unref();
  app.close().then(
    () => {
      app.log.info("stopped");
      process.exit(0);
    },
    (error: unknown) => {
      app.log.error({ err: error }, "error while shutting down");
      process.exit(1);
    },
  );
};
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);

try {
  await app.listen({ host: config.host, port: config.port });
} catch (error) {
  app.log.fatal({ err: error }, `cannot listen on ${config.host}:${config.port}`);
  process.exit(1);
}
