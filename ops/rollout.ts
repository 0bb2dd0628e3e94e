// What the rollout tests (test/e2e/scale.test.ts) and the scale bench (bench/scale.ts) share:
// a disposable copy of the program, so a test can give the engine a new app image (an extra
// migration) without touching the repository; steady plain-HTTP load through nginx that fails on
// any error; and a watch that compares nginx's upstream servers with the running replicas.
import { setTimeout as sleep } from "node:timers/promises";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { exec, stackContainers } from "./docker";
import { LoadLoop, type LoadReport } from "./http";
import { PROGRAM_DIR } from "./stack";

/** Never copied: dependencies (linked instead), VCS data, engine state, build output. */
const NOT_COPIED = new Set([
  "node_modules",
  ".git",
  ".pulumi-state",
  "dist",
  "coverage",
  "test-artifacts",
]);

/**
 * A copy of the program (Pulumi.yaml, index.ts, components/, the image build contexts, …) in a
 * temporary directory, with `node_modules` linked to the repository's. Its image contexts hash
 * like the originals (`node_modules` and `dist` are dockerignored), so the first `up` from it
 * builds nothing new. Use the same copy for every run of one stack (the engine builds the images
 * from it, and its command provider runs there), and remove it with `removeProgramCopy` after
 * `down`.
 */
export function copyProgram(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hs-scale-program-"));
  for (const entry of fs.readdirSync(PROGRAM_DIR)) {
    if (NOT_COPIED.has(entry)) continue;
    fs.cpSync(path.join(PROGRAM_DIR, entry), path.join(dir, entry), {
      recursive: true,
      filter: (source) => !NOT_COPIED.has(path.basename(source)),
    });
  }
  fs.symlinkSync(path.join(PROGRAM_DIR, "node_modules"), path.join(dir, "node_modules"));
  return dir;
}

export function removeProgramCopy(dir: string): void {
  if (path.resolve(dir) === PROGRAM_DIR) throw new Error("refusing to remove the repository");
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Adds a migration to the copy's app image: the next `up` builds a new app image (its context
 * changed) and rolls it out. Returns the migration's name as `pgmigrations` records it.
 */
export function addMigration(programDir: string, name: string, sql: string): string {
  fs.writeFileSync(
    path.join(programDir, "app", "migrations", `${name}.sql`),
    `-- Up Migration\n${sql}\n\n-- Down Migration\n`,
  );
  return name;
}

export interface Served {
  /** The replica that answered (`app-2`). */
  readonly hostname: string;
  /** The newest migration applied, as that replica read it. */
  readonly schemaVersion: string | null;
  /** Milliseconds from sending to the full response. */
  readonly ms: number;
}

/**
 * GET `${url}api/info` on a new connection (no keep-alive: every request is a new client, so a
 * client's idle connection racing nginx's reload is not what is measured). Throws on a network
 * error, a status other than 200, or a replica reporting its schema behind the image it runs.
 */
export function getInfo(url: string, timeoutMs = 15_000): Promise<Served> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const request = http.get(`${url}api/info`, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode !== 200) {
          reject(new Error(`status ${res.statusCode}: ${body.slice(0, 200)}`));
          return;
        }
        try {
          const info = JSON.parse(body) as {
            hostname: string;
            schemaVersion: string | null;
            schemaUpToDate: boolean;
          };
          if (info.schemaUpToDate !== true) {
            reject(new Error(`${info.hostname} serves with its schema behind: ${body}`));
            return;
          }
          resolve({
            hostname: info.hostname,
            schemaVersion: info.schemaVersion,
            ms: Date.now() - start,
          });
        } catch (error) {
          reject(new Error(`not JSON: ${body.slice(0, 200)} (${(error as Error).message})`));
        }
      });
    });
    request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on("error", reject);
  });
}

/** Steady `/api/info` load through nginx, bounded by count and time. */
export function infoLoad(url: string, ratePerSecond = 20, maxSeconds = 600): LoadLoop {
  return new LoadLoop(() => getInfo(url), {
    ratePerSecond,
    maxRequests: ratePerSecond * maxSeconds,
    maxSeconds,
  });
}

/** Latency figures of a load run's successful requests, in milliseconds. */
export function latency(report: LoadReport): { p50: number; p99: number; max: number } {
  const ms = report.successes.map((s) => (s.value as Served).ms).sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: ms[ms.length - 1] ?? 0 };
}

/** Replicas that answered, with how many requests each. */
export function spread(report: LoadReport): Record<string, number> {
  const seen: Record<string, number> = {};
  for (const s of report.successes) {
    const host = (s.value as Served).hostname;
    seen[host] = (seen[host] ?? 0) + 1;
  }
  return seen;
}

export interface UpstreamSample {
  readonly atMs: number;
  /** Containers nginx balances over (`/run/nginx/upstream-servers.conf`), by Docker name. */
  readonly upstream: string[];
  /** App containers running and healthy at that moment, by Docker name. */
  readonly healthy: string[];
  /** App containers running at all (healthy or not), by Docker name. */
  readonly running: string[];
}

/** The containers nginx currently balances over (Docker names), from its entrypoint's file. */
export async function nginxUpstreams(nginxContainer: string): Promise<string[]> {
  const text = await exec(nginxContainer, ["cat", "/run/nginx/upstream-servers.conf"]);
  return [...text.matchAll(/^server \S+ [^#]*# (\S+)$/gm)].map((m) => m[1]).sort();
}

/** The replicas nginx currently balances over, by node (`app-0`, …). */
export async function upstreamNodes(stack: string, nginxContainer: string): Promise<string[]> {
  const names = await nginxUpstreams(nginxContainer);
  const node = new Map((await stackContainers(stack)).map((c) => [c.name, c.node]));
  return names.map((n) => node.get(n) ?? n).sort();
}

export interface UpstreamReport {
  readonly samples: UpstreamSample[];
  /** Samples where nginx named a container not running and healthy. */
  readonly violations: string[];
  /** Fewest containers that were both named by nginx and healthy, over all samples. */
  readonly minCapacity: number;
  /** Samples with fewer such containers than `replicas` (when given to `stop`). */
  readonly shortfalls: string[];
  /** Most app containers running at once, over all samples (a roll's bound: replicas + batch). */
  readonly maxRunning: number;
}

/**
 * Samples nginx's upstream servers and the stack's app containers until stopped (at most
 * `maxSeconds`). `violations` lists every sample where nginx named a container that was not
 * running and healthy: traffic sent to a replica before it was ready, or after it stopped;
 * `minCapacity` is the fewest healthy containers nginx balanced over at any sample.
 */
export class UpstreamWatch {
  private stopped = false;
  private readonly done: Promise<UpstreamSample[]>;

  constructor(
    private readonly stack: string,
    private readonly nginxContainer: string,
    opts: { intervalMs?: number; maxSeconds?: number } = {},
  ) {
    this.done = this.run(opts.intervalMs ?? 400, opts.maxSeconds ?? 600);
  }

  private async run(intervalMs: number, maxSeconds: number): Promise<UpstreamSample[]> {
    const start = Date.now();
    const samples: UpstreamSample[] = [];
    while (!this.stopped && Date.now() - start < maxSeconds * 1000) {
      // nginx first: a container it names must still be healthy when the containers are read.
      const upstream = await nginxUpstreams(this.nginxContainer);
      const apps = (await stackContainers(this.stack)).filter((c) => c.role === "app");
      const running = apps.filter((c) => c.state === "running");
      samples.push({
        atMs: Date.now() - start,
        upstream,
        healthy: running
          .filter((c) => c.health === "healthy")
          .map((c) => c.name)
          .sort(),
        running: running.map((c) => c.name).sort(),
      });
      await sleep(intervalMs);
    }
    return samples;
  }

  /** Stops sampling; `replicas` is the capacity no sample may fall below. */
  async stop(replicas = 0): Promise<UpstreamReport> {
    this.stopped = true;
    const samples = await this.done;
    const violations: string[] = [];
    const shortfalls: string[] = [];
    let minCapacity = Infinity;
    let maxRunning = 0;
    for (const s of samples) {
      maxRunning = Math.max(maxRunning, s.running.length);
      const unready = s.upstream.filter((host) => !s.healthy.includes(host));
      const serving = s.upstream.length - unready.length;
      minCapacity = Math.min(minCapacity, serving);
      const line = `${s.atMs} ms: nginx names ${s.upstream.join(", ")}; healthy: ${s.healthy.join(", ")}`;
      if (unready.length > 0) violations.push(line);
      if (serving < replicas) shortfalls.push(line);
    }
    return {
      samples,
      violations,
      minCapacity: samples.length === 0 ? 0 : minCapacity,
      shortfalls,
      maxRunning,
    };
  }
}
