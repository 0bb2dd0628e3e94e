// The collector's loop: one host-metrics row per interval, through pgpool like every write.
import { writeFile } from "node:fs/promises";
import type pg from "pg";
import { errorSummary, insertMetrics, type Logger } from "./db.js";
import { sampleHostMetrics } from "./host-metrics.js";

/** Samples the host, inserts the row, then touches `healthFile` (the healthcheck reads it). */
export async function collectOnce(
  db: Pick<pg.Pool, "query">,
  hostname: string,
  healthFile: string,
): Promise<void> {
  const sample = await sampleHostMetrics(hostname);
  await insertMetrics(db, sample);
  await writeFile(healthFile, `${new Date().toISOString()}\n`);
}

/**
 * Collects now and then every `intervalSeconds` until the returned stop function is called.
 * A failed sample (database down, failover in progress) is logged and retried next tick.
 */
export function startCollector(
  db: Pick<pg.Pool, "query">,
  opts: { hostname: string; intervalSeconds: number; healthFile: string; log: Logger },
): () => Promise<void> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = collectOnce(db, opts.hostname, opts.healthFile)
      .then(() => opts.log.info({}, "metrics row written"))
      .catch((err: unknown) =>
        opts.log.warn({ err: errorSummary(err) }, "metrics sample failed; retrying next tick"),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, opts.intervalSeconds * 1000);
      });
  };
  tick();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
