// Entry of the collector container: host metrics into the database every interval.
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { startCollector } from "./collect.js";
import { loadConfig, type Config } from "./config.js";
import { createPool } from "./db.js";

const log = pino({ name: "collector" });

let config: Config;
try {
  config = loadConfig(process.env, fileURLToPath(new URL("../migrations", import.meta.url)));
} catch (error) {
  log.fatal(`invalid configuration: ${(error as Error).message}`);
  process.exit(1);
}
log.level = config.logLevel;

if (config.collectorIntervalSeconds === 0) {
  log.info("collector disabled (COLLECTOR_INTERVAL_SECONDS=0); exiting");
  process.exit(0);
}

const pool = createPool({ ...config.database, poolMax: 1 }, log, "ha-stack-collector");
log.info({ intervalSeconds: config.collectorIntervalSeconds }, "collector started");
const stop = startCollector(pool, {
  hostname: config.hostname,
  intervalSeconds: config.collectorIntervalSeconds,
  healthFile: config.collectorHealthFile,
  log,
});

const shutdown = (signal: NodeJS.Signals) => {
  log.info({ signal }, "collector stopping");
  stop()
    .then(() => pool.end())
    .then(
      () => process.exit(0),
      () => process.exit(1),
    );
};
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
