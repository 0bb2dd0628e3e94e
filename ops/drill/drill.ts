// Failure drills against a running ha-stack: crash a container the way a real fault does, keep
// clients busy while it happens, measure what they saw, and check that at no sampled instant two
// PostgreSQL nodes were writable. One implementation for test/e2e/failover.test.ts,
// bench/failover.ts and scripts/drill-failover.ts (`npm run drill:failover`).
//
// A crash is SIGKILL of the container's server process (PostgreSQL's postmaster, pgpool, node,
// nginx's master), sent from the Docker host: the container exits and Docker's restart policy
// starts it again, as after a real crash. (`docker kill` would not do: Docker 20.10 records it as
// a manual stop, and `unless-stopped` then leaves the container down.) So this code must run on
// the Docker host, as root.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import * as fs from "node:fs";
import { Client } from "pg";
import { addressOn, docker, exec, logs, psql, stackContainers } from "../docker";
import { get, LoadLoop, type LoadReport } from "../http";
import { poll, withTimeout } from "../poll";

// ---------------------------------------------------------------------------------------------
// Finding the stack

/** What the drills need to reach a running stack. */
export interface DrillTarget {
  readonly stack: string;
  /** Docker container name by node (`pg-0`, `pgpool`, `app-1`, `nginx`, …). */
  readonly containers: Readonly<Record<string, string>>;
  /** nginx's published URL, ending in `/`. */
  readonly url: string;
  /** Where the host reaches pgpool: the published `pgpoolPort`, else its backend address. */
  readonly pgpool: { readonly host: string; readonly port: number };
  /** The app role's password (read from the pgpool container's secret file). */
  readonly appPassword: string;
}

/**
 * Finds a stack's containers by their labels (`ha-stack.stack`, `ha-stack.node`): works for a
 * stack made by `pulumi up` as well as by the test engine.
 */
export async function findTarget(stack: string): Promise<DrillTarget> {
  const found = await stackContainers(stack);
  const containers: Record<string, string> = {};
  for (const c of found) if (c.node) containers[c.node] = c.name;
  const missing = ["pg-0", "pg-1", "pgpool", "app-0", "nginx"].filter((n) => !containers[n]);
  if (missing.length > 0) {
    throw new Error(
      `stack "${stack}": no container labelled ha-stack.node=${missing.join(", ")} ` +
        `(found: ${Object.keys(containers).sort().join(", ") || "none"}); is the stack up?`,
    );
  }
  const nginx = await docker.getContainer(containers.nginx).inspect();
  const httpBinding = nginx.NetworkSettings.Ports?.["8080/tcp"]?.[0];
  if (httpBinding === undefined) throw new Error(`${containers.nginx} publishes no port 8080`);
  const pgpool = await docker.getContainer(containers.pgpool).inspect();
  const pgBinding = pgpool.NetworkSettings.Ports?.["9999/tcp"]?.[0];
  const pgpoolAddress =
    pgBinding !== undefined
      ? { host: hostOf(pgBinding.HostIp), port: Number(pgBinding.HostPort) }
      : // The host routes to the backend network (internal means no route *out*).
        { host: await addressOn(containers.pgpool, "-backend"), port: 9999 };
  const appPassword = (await exec(containers.pgpool, ["cat", "/run/secrets/app-password"])).split(
    "\n",
  )[0];
  return {
    stack,
    containers,
    url: `http://${hostOf(httpBinding.HostIp)}:${httpBinding.HostPort}/`,
    pgpool: pgpoolAddress,
    appPassword,
  };
}

function hostOf(bindAddress: string): string {
  if (bindAddress === "" || bindAddress === "0.0.0.0") return "127.0.0.1";
  if (bindAddress === "::") return "[::1]";
  return bindAddress.includes(":") ? `[${bindAddress}]` : bindAddress;
}

// ---------------------------------------------------------------------------------------------
// Crashing a container

/** The server process of each role, by its command name. */
const SERVER_PROCESS: Record<string, string> = {
  postgres: "postgres",
  pgpool: "pgpool",
  app: "node",
  collector: "node",
  nginx: "nginx",
};

export interface Crash {
  readonly container: string;
  /** Host pid and command name of the process killed. */
  readonly pid: number;
  readonly command: string;
  /** Date.now() when SIGKILL was sent. */
  readonly at: number;
  /** Docker's StartedAt before the crash: a later value means the container was restarted. */
  readonly startedBefore: string;
}

/**
 * SIGKILLs the container's server process from the host (the shallowest process with the role's
 * command name under the container's init): the container exits as after a crash, and its
 * restart policy applies.
 */
export async function crash(container: string): Promise<Crash> {
  const inspect = await docker.getContainer(container).inspect();
  if (!inspect.State.Running) throw new Error(`${container} is not running`);
  const role = inspect.Config.Labels?.["ha-stack.role"] ?? "";
  const wanted = SERVER_PROCESS[role];
  if (wanted === undefined)
    throw new Error(`${container}: no server process known for role "${role}"`);
  const root = inspect.State.Pid;
  if (!fs.existsSync(`/proc/${root}`)) {
    throw new Error(
      `process ${root} of ${container} is not visible in /proc: run this on the Docker host as root`,
    );
  }
  const processes = hostProcesses();
  // Breadth first from the container's init: the first match is the server's main process.
  let level = [root];
  for (let depth = 0; depth < 5 && level.length > 0; depth++) {
    const match = level.find((pid) => processes.get(pid)?.comm === wanted);
    if (match !== undefined) {
      const at = Date.now();
      process.kill(match, "SIGKILL");
      return { container, pid: match, command: wanted, at, startedBefore: inspect.State.StartedAt };
    }
    level = [...processes.entries()].filter(([, p]) => level.includes(p.ppid)).map(([pid]) => pid);
  }
  throw new Error(`${container}: no "${wanted}" process under its init (host pid ${root})`);
}

/** pid → parent pid and command name, from the host's /proc. */
function hostProcesses(): Map<number, { ppid: number; comm: string }> {
  const result = new Map<number, { ppid: number; comm: string }>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid …"; comm may hold spaces and parentheses.
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    const ppid = Number(stat.slice(close + 2).split(" ")[1]);
    result.set(Number(entry), { ppid, comm: stat.slice(open + 1, close) });
  }
  return result;
}

/**
 * Waits until Docker has started the container again after `crashed` and reports it healthy;
 * returns Date.now() then, or undefined if that did not happen within `timeoutMs`.
 */
export async function waitRestartedHealthy(
  crashed: Crash,
  timeoutMs: number,
): Promise<number | undefined> {
  return poll(async () => {
    const { State } = await docker.getContainer(crashed.container).inspect();
    return State.Running &&
      State.StartedAt !== crashed.startedBefore &&
      State.Health?.Status === "healthy"
      ? Date.now()
      : undefined;
  }, timeoutMs);
}

// ---------------------------------------------------------------------------------------------
// Looking at the database tier

/** true = writable primary, false = standby, undefined = not answering. */
export async function isWritable(container: string): Promise<boolean | undefined> {
  try {
    const rows = await withTimeout(
      psql(container, "SELECT pg_is_in_recovery()", "postgres"),
      3_000,
    );
    const value = rows[0]?.[0];
    return value === "f" ? true : value === "t" ? false : undefined;
  } catch {
    return undefined;
  }
}

export interface PoolNode {
  readonly host: string;
  readonly status: string;
  readonly role: string;
}

/** pgpool's `SHOW pool_nodes`, asked inside the pgpool container as the pgpool role. */
export async function poolNodes(target: DrillTarget): Promise<PoolNode[]> {
  const out = await withTimeout(
    exec(
      target.containers.pgpool,
      [
        "psql",
        "host=127.0.0.1 port=9999 user=pgpool dbname=postgres connect_timeout=3",
        "-AXq",
        "-F",
        "|",
        "-P",
        "footer=off",
        "-c",
        "SHOW pool_nodes",
      ],
      "postgres",
    ),
    8_000,
  );
  const [header, ...rows] = out.split("\n").filter((l) => l !== "");
  const columns = header.split("|");
  const at = (name: string) => columns.indexOf(name);
  return rows.map((row) => {
    const f = row.split("|");
    return { host: f[at("hostname")], status: f[at("status")], role: f[at("role")] };
  });
}

/** The pg node that answers as writable now, if exactly one does. */
export async function currentPrimary(target: DrillTarget): Promise<"pg-0" | "pg-1" | undefined> {
  const [a, b] = await Promise.all([
    isWritable(target.containers["pg-0"]),
    isWritable(target.containers["pg-1"]),
  ]);
  if (a === true && b !== true) return "pg-0";
  if (b === true && a !== true) return "pg-1";
  return undefined;
}

/** pgpool has both nodes up and `primary` as its one primary. */
function poolAgrees(nodes: readonly PoolNode[], primary: string | undefined): boolean {
  return (
    nodes.length === 2 &&
    nodes.every((n) => n.status === "up") &&
    nodes
      .filter((n) => n.role === "primary")
      .map((n) => n.host)
      .join() === primary
  );
}

/** pgpool sees `primary` as its one up primary and every node up. */
export async function poolConverged(target: DrillTarget, primary: string): Promise<boolean> {
  return poolAgrees(await poolNodes(target), primary);
}

/**
 * Asks one PostgreSQL node `SELECT pg_is_in_recovery()` over a connection of its own from the
 * host (to its backend-network address, as the superuser, password from the container's secret
 * file), reconnecting when the node went away. Cheap enough to ask every 200 ms.
 */
class NodeProbe {
  private client: Client | undefined;
  private password: string | undefined;

  constructor(private readonly container: string) {}

  /** true = writable primary, false = standby, undefined = not answering within a second. */
  async writable(): Promise<boolean | undefined> {
    try {
      if (this.client === undefined) {
        this.password ??= (
          await withTimeout(exec(this.container, ["cat", "/run/secrets/postgres-password"]), 3_000)
        ).split("\n")[0];
        const client = new Client({
          host: await addressOn(this.container, "-backend"),
          port: 5432,
          user: "postgres",
          password: this.password,
          database: "postgres",
          connectionTimeoutMillis: 1_000,
          query_timeout: 1_000,
        });
        client.on("error", () => {});
        await client.connect();
        this.client = client;
      }
      const { rows } = await this.client.query<{ r: boolean }>("SELECT pg_is_in_recovery() AS r");
      return !rows[0].r;
    } catch {
      const old = this.client;
      this.client = undefined;
      void old?.end().catch(() => {});
      return undefined;
    }
  }

  async close(): Promise<void> {
    await this.client?.end().catch(() => {});
    this.client = undefined;
  }
}

/**
 * Asks both PostgreSQL nodes every `intervalMs` whether they are writable (see NodeProbe) and
 * records every sample at which both were. Bounded by `maxSeconds`.
 */
export class WritableMonitor {
  private stopped = false;
  private readonly started = Date.now();
  readonly bothWritable: number[] = [];
  samples = 0;
  /** Samples where at least one node did not answer (restarting, crashed). */
  unanswered = 0;
  private readonly done: Promise<void>;

  constructor(
    containers: readonly [string, string],
    opts: { intervalMs?: number; maxSeconds: number },
  ) {
    this.done = this.run(
      containers.map((c) => new NodeProbe(c)),
      opts.intervalMs ?? 200,
      opts.maxSeconds,
    );
  }

  private async run(probes: NodeProbe[], intervalMs: number, maxSeconds: number): Promise<void> {
    try {
      while (!this.stopped && Date.now() - this.started < maxSeconds * 1000) {
        const at = Date.now();
        const [a, b] = await Promise.all(probes.map((p) => p.writable()));
        this.samples++;
        if (a === undefined || b === undefined) this.unanswered++;
        if (a === true && b === true) this.bothWritable.push(at - this.started);
        await sleep(Math.max(0, at + intervalMs - Date.now()));
      }
    } finally {
      await Promise.all(probes.map((p) => p.close()));
    }
  }

  async stop(): Promise<MonitorReport> {
    this.stopped = true;
    await this.done;
    return {
      seconds: (Date.now() - this.started) / 1000,
      samples: this.samples,
      unanswered: this.unanswered,
      bothWritableAtMs: [...this.bothWritable],
    };
  }
}

export interface MonitorReport {
  readonly seconds: number;
  readonly samples: number;
  readonly unanswered: number;
  /** Milliseconds since the monitor started of each sample with two writable nodes. */
  readonly bothWritableAtMs: number[];
}

// ---------------------------------------------------------------------------------------------
// Clients

/** Table of the drills' own writes (never one of the app's). */
export const WRITES_TABLE = "ha_stack_drill_writes";

export async function connectPgpool(target: DrillTarget): Promise<Client> {
  const client = new Client({
    host: target.pgpool.host.replace(/^\[|\]$/g, ""),
    port: target.pgpool.port,
    user: "app",
    password: target.appPassword,
    database: "app",
    connectionTimeoutMillis: 3_000,
    query_timeout: 5_000,
  });
  client.on("error", () => {}); // a backend dying mid-session surfaces on the next query
  await client.connect();
  return client;
}

export async function createWritesTable(target: DrillTarget): Promise<void> {
  const client = await connectPgpool(target);
  try {
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${WRITES_TABLE} (run text NOT NULL, n integer NOT NULL, ` +
        "at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (run, n))",
    );
  } finally {
    await client.end().catch(() => {});
  }
}

export async function dropWritesTable(target: DrillTarget): Promise<void> {
  const client = await connectPgpool(target);
  try {
    await client.query(`DROP TABLE IF EXISTS ${WRITES_TABLE}`);
  } finally {
    await client.end().catch(() => {});
  }
}

export interface Ack {
  readonly n: number;
  /** Date.now() when the insert was sent and when its commit was acknowledged. */
  readonly sentAt: number;
  readonly at: number;
}

export interface WriterReport {
  readonly run: string;
  readonly acknowledged: readonly Ack[];
  readonly failures: number;
}

/**
 * Inserts one row at a time through pgpool, as the app would, at most `ratePerSecond` rows a
 * second, reconnecting after an error. Bounded by `maxWrites` and `maxSeconds`.
 */
export class Writer {
  readonly run = `w-${randomBytes(4).toString("hex")}`;
  readonly acknowledged: Ack[] = [];
  failures = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly target: DrillTarget,
    opts: { ratePerSecond: number; maxWrites: number; maxSeconds: number },
  ) {
    this.done = this.loop(opts);
  }

  private async loop(opts: {
    ratePerSecond: number;
    maxWrites: number;
    maxSeconds: number;
  }): Promise<void> {
    const start = Date.now();
    const gap = 1000 / opts.ratePerSecond;
    let client: Client | undefined;
    for (let n = 1; n <= opts.maxWrites && !this.stopped; n++) {
      if (Date.now() - start > opts.maxSeconds * 1000) break;
      const sentAt = Date.now();
      try {
        client ??= await connectPgpool(this.target);
        await client.query(`INSERT INTO ${WRITES_TABLE} (run, n) VALUES ($1, $2)`, [this.run, n]);
        this.acknowledged.push({ n, sentAt, at: Date.now() });
      } catch {
        this.failures++;
        const old = client;
        client = undefined;
        void old?.end().catch(() => {});
      }
      await sleep(Math.max(0, sentAt + gap - Date.now()));
    }
    await client?.end().catch(() => {});
  }

  /** Resolves once at least `count` more writes than now are acknowledged (or times out). */
  async more(count: number, timeoutMs: number): Promise<boolean> {
    const target = this.acknowledged.length + count;
    return (
      (await poll(async () => this.acknowledged.length >= target || undefined, timeoutMs, 100)) ===
      true
    );
  }

  async stop(): Promise<WriterReport> {
    this.stopped = true;
    await this.done;
    return { run: this.run, acknowledged: [...this.acknowledged], failures: this.failures };
  }
}

/**
 * The write outage around `at`: from the last write acknowledged before it to the first write
 * acknowledged after it, in seconds (undefined if none came after).
 */
export function writeOutage(acks: readonly Ack[], at: number): number | undefined {
  const before = acks.filter((a) => a.at <= at).at(-1);
  const after = acks.find((a) => a.at > at && a.sentAt >= at);
  if (after === undefined) return undefined;
  return (after.at - (before?.at ?? at)) / 1000;
}

/** Acknowledged rows of `writer` missing on the node `container` (asked over its local socket). */
export async function missingWrites(container: string, writer: WriterReport): Promise<number[]> {
  const rows = await psql(container, `SELECT n FROM ${WRITES_TABLE} WHERE run = '${writer.run}'`);
  const stored = new Set(rows.map(([n]) => Number(n)));
  return writer.acknowledged.filter((a) => !stored.has(a.n)).map((a) => a.n);
}

/** Steady GETs of a user through nginx; every answer but a 200 counts as a failed request. */
export function httpLoad(
  target: DrillTarget,
  opts: { ratePerSecond: number; maxSeconds: number; path?: string },
): LoadLoop {
  const tag = randomBytes(3).toString("hex");
  let i = 0;
  return new LoadLoop(
    async () => {
      const path = `${opts.path ?? "api/users/1"}?drill=${tag}-${++i}`;
      const response = await get(`${target.url}${path}`, { timeoutMs: 10_000 });
      if (response.status !== 200) throw new Error(`GET /${path}: HTTP ${response.status}`);
      return path;
    },
    {
      ratePerSecond: opts.ratePerSecond,
      maxRequests: Math.ceil(opts.ratePerSecond * opts.maxSeconds),
      maxSeconds: opts.maxSeconds,
    },
  );
}

/** What clients of `httpLoad` saw around a crash at `at`. */
export interface HttpSummary {
  readonly sent: number;
  readonly failed: number;
  /** The longest stretch without a successful request after `at`, seconds (see httpGap). */
  readonly gap: number | undefined;
  /** The first ten failures. */
  readonly failures: string[];
}

export function httpSummary(report: LoadReport, startedAt: number, at: number): HttpSummary {
  return {
    sent: report.sent,
    failed: report.failed,
    gap: httpGap(report, startedAt, at),
    failures: report.failures.slice(0, 10),
  };
}

/**
 * The longest stretch without a successful request from the last success before `at` to the end
 * of the run, in seconds (undefined when no request succeeded after `at`).
 */
export function httpGap(report: LoadReport, startedAt: number, at: number): number | undefined {
  const times = report.successes.map((s) => startedAt + s.atMs).sort((a, b) => a - b);
  const first = times.findIndex((t) => t > at);
  if (first === -1) return undefined;
  let gap = (times[first] - (times[first - 1] ?? at)) / 1000;
  for (let i = first + 1; i < times.length; i++)
    gap = Math.max(gap, (times[i] - times[i - 1]) / 1000);
  return gap;
}

// ---------------------------------------------------------------------------------------------
// Scenarios

export interface PrimaryLossResult {
  readonly failed: string;
  readonly survivor: string;
  readonly crashed: Crash;
  /** Seconds from the crash until the survivor answered as writable. */
  readonly promotedAfter: number | undefined;
  /** Last acknowledged write before the crash → first after, seconds. */
  readonly writeOutage: number | undefined;
  readonly writesAcknowledged: number;
  readonly writesFailed: number;
  /** Acknowledged writes missing on the new primary. */
  readonly lostWrites: number[];
  readonly http: HttpSummary;
  /** Seconds from the crash until pgpool showed both nodes up again (the old primary rejoined). */
  readonly rejoinedAfter: number | undefined;
  /** How the old primary came back: its entrypoint's decision, from its log. */
  readonly rejoin: string;
  /** What the old primary is now: standby, primary (a second writer!), or down. */
  readonly oldPrimaryNow: "standby" | "primary" | "down";
}

/**
 * Crashes the primary while a writer inserts through pgpool and clients read through nginx,
 * then waits for the promotion, the first write after it, and the old primary's return as a
 * standby (Docker restarts it; its entrypoint fences it), up to `rejoinTimeoutMs`.
 */
export async function primaryLoss(
  target: DrillTarget,
  opts: { writeRate?: number; httpRate?: number; rejoinTimeoutMs?: number } = {},
): Promise<PrimaryLossResult> {
  const failed = await currentPrimary(target);
  if (failed === undefined) throw new Error("primary loss: no single writable node to crash");
  const survivor = failed === "pg-0" ? "pg-1" : "pg-0";
  if ((await isWritable(target.containers[survivor])) !== false) {
    throw new Error(`primary loss: ${survivor} is not a running standby`);
  }
  await createWritesTable(target);
  const writer = new Writer(target, {
    ratePerSecond: opts.writeRate ?? 20,
    maxWrites: 20_000,
    maxSeconds: 300,
  });
  const httpStarted = Date.now();
  const http = httpLoad(target, { ratePerSecond: opts.httpRate ?? 10, maxSeconds: 300 });
  let crashed: Crash | undefined;
  try {
    if (!(await writer.more(20, 20_000)))
      throw new Error("primary loss: the writer is not writing");
    crashed = await crash(target.containers[failed]);
    const killedAt = crashed.at;
    const promotedAt = await poll(
      async () => ((await isWritable(target.containers[survivor])) ? Date.now() : undefined),
      60_000,
      100,
    );
    await writer.more(1, 60_000);
    const rejoinedAt = await poll(
      async () => ((await poolConverged(target, survivor)) ? Date.now() : undefined),
      opts.rejoinTimeoutMs ?? 150_000,
      500,
    );
    await writer.more(20, 20_000);
    const writes = await writer.stop();
    const load = await http.stop();
    const newPrimary = await currentPrimary(target);
    const lostWrites = await missingWrites(target.containers[newPrimary ?? survivor], writes);
    const oldState = await isWritable(target.containers[failed]);
    return {
      failed,
      survivor,
      crashed,
      promotedAfter: promotedAt === undefined ? undefined : (promotedAt - killedAt) / 1000,
      writeOutage: writeOutage(writes.acknowledged, killedAt),
      writesAcknowledged: writes.acknowledged.length,
      writesFailed: writes.failures,
      lostWrites,
      http: httpSummary(load, httpStarted, killedAt),
      rejoinedAfter: rejoinedAt === undefined ? undefined : (rejoinedAt - killedAt) / 1000,
      rejoin: entrypointDecision(await logs(target.containers[failed]).catch(() => ""), failed),
      oldPrimaryNow: oldState === undefined ? "down" : oldState ? "primary" : "standby",
    };
  } finally {
    await writer.stop();
    await http.stop();
  }
}

/** The pg-entrypoint decisions of the container's latest start, in one line. */
export function entrypointDecision(log: string, node: string): string {
  const lastRun = log.slice(Math.max(0, log.lastIndexOf(`pg-entrypoint: node ${node},`)));
  const lines = lastRun
    .split("\n")
    .filter((l) => /pg-entrypoint: (case \d|pg_rewind|base backup|starting as|FATAL)/.test(l))
    .map((l) => l.replace(/^.*pg-entrypoint: /, "").trim());
  return lines.length > 0 ? lines.join(" → ") : "no pg-entrypoint decision logged";
}

export interface ConvergedState {
  readonly primary: string | undefined;
  readonly standbyStreaming: boolean;
  readonly poolNodes: PoolNode[];
  readonly unhealthy: string[];
  /** A write through pgpool succeeded. */
  readonly writable: boolean;
}

/** The stack's state now: who is primary, whether the pair streams, pgpool's view, health. */
export async function convergedState(target: DrillTarget): Promise<ConvergedState> {
  const primary = await currentPrimary(target);
  let standbyStreaming = false;
  if (primary !== undefined) {
    const standby = primary === "pg-0" ? "pg_1" : "pg_0";
    const rows = await psql(
      target.containers[primary],
      `SELECT state FROM pg_stat_replication WHERE application_name = '${standby}'`,
      "postgres",
    ).catch(() => []);
    standbyStreaming = rows[0]?.[0] === "streaming";
  }
  const nodes = await poolNodes(target).catch(() => []);
  const unhealthy = (await stackContainers(target.stack))
    .filter((c) => c.state !== "running" || (c.health !== undefined && c.health !== "healthy"))
    .map((c) => `${c.node}: ${c.state}${c.health ? `/${c.health}` : ""}`);
  let writable = false;
  try {
    await createWritesTable(target);
    const client = await connectPgpool(target);
    try {
      await client.query(`INSERT INTO ${WRITES_TABLE} (run, n) VALUES ($1, 1)`, [
        `c-${randomBytes(4).toString("hex")}`,
      ]);
      writable = true;
    } finally {
      await client.end().catch(() => {});
    }
  } catch {
    writable = false;
  }
  return { primary, standbyStreaming, poolNodes: nodes, unhealthy, writable };
}

/** Converged: one primary, the standby streams, pgpool has both up and that primary, all healthy, writable. */
export function isConverged(state: ConvergedState): boolean {
  return (
    state.primary !== undefined &&
    state.standbyStreaming &&
    poolAgrees(state.poolNodes, state.primary) &&
    state.unhealthy.length === 0 &&
    state.writable
  );
}

export interface ContainerLossResult {
  readonly node: string;
  readonly crashed: Crash;
  /** Seconds from the crash until Docker had restarted it and it was healthy again. */
  readonly healthyAfter: number | undefined;
  readonly http: HttpSummary;
  /** For pgpool: the write outage through pgpool. */
  readonly writeOutage?: number | undefined;
  readonly writesFailed?: number;
}

/**
 * Crashes `node` (an app replica, nginx, pgpool or the standby) under steady reads through nginx
 * (and writes through pgpool when `withWriter`), waits for Docker to restart it and for it to be
 * healthy, keeps the load on a few seconds more, and reports what clients saw.
 */
export async function containerLoss(
  target: DrillTarget,
  node: string,
  opts: {
    httpRate?: number;
    withWriter?: boolean;
    healthyTimeoutMs?: number;
    probeTimeoutMs?: number;
  } = {},
): Promise<ContainerLossResult> {
  const container = target.containers[node];
  if (container === undefined) throw new Error(`no container for node ${node}`);
  let writer: Writer | undefined;
  if (opts.withWriter) {
    await createWritesTable(target);
    writer = new Writer(target, { ratePerSecond: 20, maxWrites: 10_000, maxSeconds: 240 });
  }
  const httpStarted = Date.now();
  const http = httpLoad(target, { ratePerSecond: opts.httpRate ?? 20, maxSeconds: 240 });
  try {
    await sleep(2_000);
    if (writer && !(await writer.more(10, 20_000))) throw new Error(`${node} loss: writer idle`);
    const crashed = await crash(container);
    const healthyAt = await waitRestartedHealthy(crashed, opts.healthyTimeoutMs ?? 120_000);
    // Clients keep going a little after the container is back.
    await sleep(3_000);
    if (writer) await writer.more(10, 30_000);
    const load = await http.stop();
    const writes = await writer?.stop();
    return {
      node,
      crashed,
      healthyAfter: healthyAt === undefined ? undefined : (healthyAt - crashed.at) / 1000,
      http: httpSummary(load, httpStarted, crashed.at),
      ...(writes
        ? {
            writeOutage: writeOutage(writes.acknowledged, crashed.at),
            writesFailed: writes.failures,
          }
        : {}),
    };
  } finally {
    await http.stop();
    await writer?.stop();
  }
}

/** Polls until the stack is converged (see isConverged); seconds it took, or undefined. */
export async function waitConverged(
  target: DrillTarget,
  timeoutMs: number,
): Promise<{ after: number | undefined; state: ConvergedState }> {
  const started = Date.now();
  let state = await convergedState(target);
  while (!isConverged(state) && Date.now() - started < timeoutMs) {
    await sleep(1_000);
    state = await convergedState(target);
  }
  return { after: isConverged(state) ? (Date.now() - started) / 1000 : undefined, state };
}

// ---------------------------------------------------------------------------------------------
// The whole drill

export const SCENARIOS = ["primary", "standby", "replica", "leader", "nginx", "pgpool"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface DrillReport {
  readonly stack: string;
  readonly synchronous: boolean;
  readonly primaryLoss?: PrimaryLossResult;
  /** After the primary loss (and `afterPrimaryLoss`): how long until converged, and the state. */
  readonly convergedAfterFailover?: { after: number | undefined; state: ConvergedState };
  readonly standbyLoss?: ContainerLossResult;
  readonly replicaLoss?: ContainerLossResult;
  readonly leaderLoss?: ContainerLossResult;
  readonly nginxLoss?: ContainerLossResult;
  readonly pgpoolLoss?: ContainerLossResult;
  /** The state at the end, after waiting for convergence. */
  readonly final: { after: number | undefined; state: ConvergedState };
  readonly monitor: MonitorReport;
  /** Everything that broke a promise of the stack; empty = the drill passed. */
  readonly problems: string[];
}

export interface DrillOptions {
  readonly scenarios?: readonly Scenario[];
  /** Runs right after the primary loss, before convergence is awaited (the test's `up`). */
  readonly afterPrimaryLoss?: () => Promise<void>;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** Writes per second through pgpool during the primary loss. @default 20 */
  readonly writeRate?: number;
}

/**
 * Runs the chosen scenarios one after another, each on a converged stack, with the two-writable
 * monitor on the whole time. Destructive: it kills containers of the stack. The drill's own
 * table (WRITES_TABLE) is dropped at the end.
 */
export async function runDrill(target: DrillTarget, opts: DrillOptions = {}): Promise<DrillReport> {
  const log = opts.log ?? (() => {});
  const scenarios = new Set(opts.scenarios ?? SCENARIOS);
  const problems: string[] = [];
  const pg0 = await docker.getContainer(target.containers["pg-0"]).inspect();
  const synchronous = (pg0.Config.Env ?? []).includes("PG_SYNCHRONOUS=on");
  const result: Record<string, unknown> = {};

  const start = await waitConverged(target, 120_000);
  if (start.after === undefined) {
    throw new Error(
      `stack "${target.stack}" is not converged before the drill: ${JSON.stringify(start.state)}`,
    );
  }
  const monitor = new WritableMonitor([target.containers["pg-0"], target.containers["pg-1"]], {
    maxSeconds: 1_800,
  });
  const converge = async (what: string) => {
    const c = await waitConverged(target, 180_000);
    if (c.after === undefined)
      problems.push(`${what}: the stack did not converge again: ${JSON.stringify(c.state)}`);
    return c;
  };
  try {
    if (scenarios.has("primary")) {
      log("primary loss: crashing the primary under writes through pgpool and reads through nginx");
      const r = await primaryLoss(target, { writeRate: opts.writeRate });
      result.primaryLoss = r;
      describePrimaryLoss(r).forEach((l) => log(l));
      if (synchronous && r.lostWrites.length > 0) {
        problems.push(
          `primary loss: ${r.lostWrites.length} acknowledged writes lost with synchronous replication on`,
        );
      }
      if (r.oldPrimaryNow === "primary")
        problems.push(`primary loss: ${r.failed} came back writable`);
      if (opts.afterPrimaryLoss) await opts.afterPrimaryLoss();
      result.convergedAfterFailover = await converge("after the primary loss");
    }
    const standby = async () => {
      const primary = await currentPrimary(target);
      return primary === "pg-0" ? "pg-1" : "pg-0";
    };
    const losses: [Scenario, string, () => Promise<string>, boolean][] = [
      ["standby", "standbyLoss", standby, true],
      [
        "replica",
        "replicaLoss",
        async () => (target.containers["app-1"] ? "app-1" : "app-0"),
        false,
      ],
      ["leader", "leaderLoss", async () => "app-0", false],
      ["nginx", "nginxLoss", async () => "nginx", false],
      ["pgpool", "pgpoolLoss", async () => "pgpool", true],
    ];
    for (const [scenario, key, pick, withWriter] of losses) {
      if (!scenarios.has(scenario)) continue;
      const node = await pick();
      log(`${scenario} loss: crashing ${node} under reads through nginx`);
      const r = await containerLoss(target, node, { withWriter });
      result[key] = r;
      describeContainerLoss(`${scenario} loss`, r).forEach((l) => log(l));
      if (r.healthyAfter === undefined)
        problems.push(`${scenario} loss: ${node} was not healthy again`);
      if (["standby", "replica", "leader"].includes(scenario) && r.http.failed > 0) {
        problems.push(
          `${scenario} loss: ${r.http.failed} failed client requests (${r.http.failures[0]})`,
        );
      }
      await converge(`after the ${scenario} loss`);
    }
  } finally {
    result.monitor = await monitor.stop();
  }
  const final = await waitConverged(target, 60_000);
  if (final.after === undefined)
    problems.push(`at the end: not converged: ${JSON.stringify(final.state)}`);
  await dropWritesTable(target).catch((e: Error) =>
    log(`could not drop ${WRITES_TABLE}: ${e.message}`),
  );
  const m = result.monitor as MonitorReport;
  log(describeMonitor(m));
  if (m.bothWritableAtMs.length > 0)
    problems.push(`two writable nodes at ${m.bothWritableAtMs.length} samples`);
  return {
    stack: target.stack,
    synchronous,
    ...result,
    final,
    monitor: m,
    problems,
  } as DrillReport;
}

// ---------------------------------------------------------------------------------------------
// Report

export const seconds = (s: number | undefined): string =>
  s === undefined ? "not within the time limit" : `${s.toFixed(1)} s`;

export function describePrimaryLoss(r: PrimaryLossResult): string[] {
  return [
    `primary loss: SIGKILL of ${r.failed}'s postmaster (pid ${r.crashed.pid})`,
    `  ${r.survivor} writable after ${seconds(r.promotedAfter)}`,
    `  write outage through pgpool: ${seconds(r.writeOutage)} (last acknowledged write before → first after; ${r.writesFailed} failed attempts)`,
    `  acknowledged writes: ${r.writesAcknowledged}, missing on the new primary: ${r.lostWrites.length}`,
    `  HTTP through nginx: ${r.http.sent} requests, ${r.http.failed} failed, longest gap ${seconds(r.http.gap)}`,
    `  old primary ${r.failed}: ${r.oldPrimaryNow}; pgpool had both nodes up again after ${seconds(r.rejoinedAfter)}`,
    `  ${r.failed}'s entrypoint: ${r.rejoin}`,
  ];
}

export function describeContainerLoss(what: string, r: ContainerLossResult): string[] {
  return [
    `${what}: SIGKILL of ${r.node}'s ${r.crashed.command} (pid ${r.crashed.pid})`,
    `  restarted by Docker and healthy after ${seconds(r.healthyAfter)}`,
    `  HTTP through nginx: ${r.http.sent} requests, ${r.http.failed} failed, longest gap ${seconds(r.http.gap)}`,
    ...(r.writeOutage !== undefined || r.writesFailed !== undefined
      ? [
          `  writes through pgpool: outage ${seconds(r.writeOutage)}, ${r.writesFailed} failed attempts`,
        ]
      : []),
    ...r.http.failures.slice(0, 3).map((f) => `    ${f}`),
  ];
}

export function describeMonitor(m: MonitorReport): string {
  return (
    `two-writable monitor: ${m.samples} samples over ${m.seconds.toFixed(0)} s ` +
    `(${m.unanswered} with a node not answering), ${m.bothWritableAtMs.length} with two writable nodes` +
    (m.bothWritableAtMs.length > 0
      ? ` at ${m.bothWritableAtMs.map((t) => `${t} ms`).join(", ")}`
      : "")
  );
}
