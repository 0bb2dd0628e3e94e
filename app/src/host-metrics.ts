// One sample of the host's load, memory and root-filesystem usage.
import { statfs } from "node:fs/promises";
import { freemem, hostname, loadavg, totalmem } from "node:os";
import type { HostMetrics } from "./db.js";

export async function sampleHostMetrics(host = hostname()): Promise<HostMetrics> {
  const [load1 = 0, load5 = 0, load15 = 0] = loadavg();
  const disk = await statfs("/");
  return {
    hostname: host,
    load1,
    load5,
    load15,
    memTotalBytes: totalmem(),
    memFreeBytes: freemem(),
    diskTotalBytes: disk.blocks * disk.bsize,
    diskFreeBytes: disk.bavail * disk.bsize,
  };
}
