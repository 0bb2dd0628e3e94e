// The heartbeat plugin: once the app is ready, a heartbeat (../heartbeat.ts) every
// HEARTBEAT_INTERVAL_SECONDS, the first at once; stopped before the pool closes.
import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import type { AppOptions } from "../app.js";
import { errorSummary } from "../db.js";
import { heartbeat } from "../heartbeat.js";

const heartbeatPlugin: FastifyPluginAsync<
  Pick<AppOptions, "config" | "shippedMigrations">
> = async (app, { config, shippedMigrations }) => {
  const intervalMs = config.heartbeatIntervalSeconds * 1000;
  if (intervalMs === 0) return;
  const beat = {
    replica: config.replicaIndex,
    hostname: config.hostname,
    appRole: config.role,
    startedAt: new Date(),
    shippedMigrations,
  };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let failing = false;
  let inFlight = false;
  const tick = () => {
    // A heartbeat stuck on a failing database is not joined by the next one.
    if (inFlight) return;
    inFlight = true;
    running = heartbeat(app.db.pool, beat).then(
      () => {
        if (failing) app.log.info("heartbeat recorded again");
        failing = false;
      },
      (err: unknown) => {
        // Before the leader migrated, or while the database is away: say so once, keep trying.
        if (!failing) app.log.warn({ err: errorSummary(err) }, "heartbeat not recorded");
        failing = true;
      },
    );
    void running.finally(() => {
      inFlight = false;
    });
  };
  app.addHook("onReady", async () => {
    tick();
    timer = setInterval(tick, intervalMs);
    timer.unref();
  });
  app.addHook("preClose", async () => {
    clearInterval(timer);
    await running;
  });
};

export default fp(heartbeatPlugin, {
  name: "heartbeat",
  dependencies: ["database"],
  fastify: "5.x",
});
