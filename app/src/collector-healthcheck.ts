// Collector healthcheck: healthy iff the collector wrote a sample recently enough, i.e. its
// health file is younger than 3 x COLLECTOR_INTERVAL_SECONDS (at least 10 s).
import { statSync } from "node:fs";

const interval = Number(process.env.COLLECTOR_INTERVAL_SECONDS ?? "15");
const file = process.env.COLLECTOR_HEALTH_FILE ?? "/tmp/collector-last-ok";
const maxAgeMs = Math.max(3 * interval, 10) * 1000;
try {
  const ageMs = Date.now() - statSync(file).mtimeMs;
  if (ageMs > maxAgeMs) {
    console.log(`last sample ${Math.round(ageMs / 1000)} s ago (allowed ${maxAgeMs / 1000} s)`);
    process.exit(1);
  }
  process.exit(0);
} catch {
  console.log(`no sample written yet (${file} missing)`);
  process.exit(1);
}
