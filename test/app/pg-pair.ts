// A PostgreSQL primary, a streaming standby cloned from it, and pgpool-II in front, from the
// machine's own binaries, on loopback ports, for the tests that need pgpool's routing
// (replication.test.ts). Trust authentication on 127.0.0.1 only: a throwaway cluster.
// pgpool's load-balancing settings are copied from the program's renderer, so the test routes
// reads as the stack does; the rest is the minimum this pgpool (Debian's, possibly older than
// the image's 4.6) needs.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { renderPgpoolConf } from "../../components/render/pgpool.js";
import { asPostgres, findBinDir, postgresOwner } from "./pg-binaries.js";
import { freePort } from "./ports.js";

/** The load-balancing keys taken from the rendered pgpool.conf. */
export const LOAD_BALANCING_KEYS = [
  "load_balance_mode",
  "statement_level_load_balance",
  "disable_load_balance_on_write",
  "database_redirect_preference_list",
] as const;

export interface PgPair {
  /** pgpool's port; the database `app` is reached through it. */
  pgpoolPort: number;
  primaryPort: number;
  standbyPort: number;
  /** A superuser client straight to one node. */
  node(which: "primary" | "standby"): Promise<pg.Client>;
  stop(): Promise<void>;
}

/** The rendered value of each load-balancing key, with the database name `app`. */
export function renderedLoadBalancing(): Record<(typeof LOAD_BALANCING_KEYS)[number], string> {
  const conf = renderPgpoolConf({
    backends: [0, 1].map((i) => ({ host: `pg-${i}`, port: 5432, name: `pg_${i}` })),
    port: 9999,
    numInitChildren: 8,
    healthCheckPeriodSeconds: 1,
    healthCheckMaxRetries: 2,
  });
  const out = {} as Record<(typeof LOAD_BALANCING_KEYS)[number], string>;
  for (const key of LOAD_BALANCING_KEYS) {
    const match = new RegExp(`^${key}\\s*=\\s*(.+)$`, "m").exec(conf);
    if (!match) throw new Error(`the rendered pgpool.conf has no ${key}`);
    out[key] = match[1]!.trim();
  }
  return out;
}

export async function startPgPair(): Promise<PgPair> {
  const bin = findBinDir();
  const dir = mkdtempSync(join(tmpdir(), "hs-app-pair-"));
  const owner = postgresOwner();
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const run = (cmd: string, args: string[]) => {
    const [c, a] = asPostgres(cmd, args);
    return execFileSync(c, a, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  };
  const write = (file: string, content: string) => {
    writeFileSync(file, content);
    if (owner) chownSync(file, owner.uid, owner.gid);
  };

  const [primaryPort, standbyPort, pgpoolPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const primary = join(dir, "primary");
  const standby = join(dir, "standby");
  run(join(bin, "initdb"), [
    "-D",
    primary,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
  ]);
  write(
    join(primary, "pg_hba.conf"),
    "local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n",
  );
  const start = (data: string, port: number) =>
    run(join(bin, "pg_ctl"), [
      "-D",
      data,
      "-l",
      join(data, "server.log"),
      "-w",
      "-t",
      "60",
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c hot_standby=on`,
      "start",
    ]);
  start(primary, primaryPort);
  run(join(bin, "pg_basebackup"), [
    "-h",
    "127.0.0.1",
    "-p",
    String(primaryPort),
    "-U",
    "postgres",
    "-D",
    standby,
    "-R",
    "-X",
    "stream",
    "--no-sync",
  ]);
  start(standby, standbyPort);

  const admin = new pg.Client({
    host: "127.0.0.1",
    port: primaryPort,
    user: "postgres",
    database: "postgres",
  });
  await admin.connect();
  await admin.query("CREATE ROLE app LOGIN");
  await admin.query("CREATE DATABASE app OWNER app");
  await admin.end();

  const lb = renderedLoadBalancing();
  const conf = join(dir, "pgpool.conf");
  write(
    conf,
    `backend_clustering_mode = 'streaming_replication'
listen_addresses = '127.0.0.1'
port = ${pgpoolPort}
unix_socket_directories = '${dir}'
pcp_socket_dir = '${dir}'
pcp_port = ${await freePort()}
pcp_listen_addresses = ''
backend_hostname0 = '127.0.0.1'
backend_port0 = ${primaryPort}
backend_weight0 = 1
backend_flag0 = 'ALLOW_TO_FAILOVER'
backend_hostname1 = '127.0.0.1'
backend_port1 = ${standbyPort}
backend_weight1 = 1
backend_flag1 = 'ALLOW_TO_FAILOVER'
enable_pool_hba = off
num_init_children = 8
max_pool = 1
pid_file_name = '${dir}/pgpool.pid'
logdir = '${dir}'
log_destination = 'stderr'
sr_check_period = 1
sr_check_user = 'postgres'
sr_check_password = ''
sr_check_database = 'postgres'
health_check_period = 1
health_check_user = 'postgres'
health_check_password = ''
health_check_database = 'postgres'
failover_on_backend_error = off
use_watchdog = off
${LOAD_BALANCING_KEYS.map((k) => `${k} = ${lb[k]}`).join("\n")}
`,
  );
  const [c, a] = asPostgres("pgpool", [
    "-n",
    "-f",
    conf,
    "-F",
    join(dir, "pcp.conf"),
    "-a",
    join(dir, "pool_hba.conf"),
  ]);
  write(join(dir, "pcp.conf"), "");
  write(join(dir, "pool_hba.conf"), "");
  const pgpool: ChildProcess = spawn(c, a, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  pgpool.stdout?.on("data", (d: Buffer) => (log += d.toString()));
  pgpool.stderr?.on("data", (d: Buffer) => (log += d.toString()));

  // Ready once pgpool answers and sees both nodes up with the primary known.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const probe = new pg.Client({
      host: "127.0.0.1",
      port: pgpoolPort,
      user: "app",
      database: "app",
    });
    try {
      await probe.connect();
      const { rows } = await probe.query<{ role: string; status: string }>("SHOW pool_nodes");
      if (
        rows.filter((r) => r.status === "up").length === 2 &&
        rows.some((r) => r.role === "primary")
      ) {
        await probe.end();
        break;
      }
    } catch {
      // not yet
    }
    await probe.end().catch(() => undefined);
    if (Date.now() > deadline) throw new Error(`pgpool did not come up:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }

  return {
    pgpoolPort,
    primaryPort,
    standbyPort,
    async node(which) {
      const client = new pg.Client({
        host: "127.0.0.1",
        port: which === "primary" ? primaryPort : standbyPort,
        user: "postgres",
        database: "app",
      });
      await client.connect();
      return client;
    },
    async stop() {
      const exited = new Promise((r) => pgpool.once("exit", r));
      try {
        run("pgpool", ["-f", conf, "-m", "fast", "stop"]);
      } catch {
        pgpool.kill("SIGKILL");
      }
      await exited;
      for (const data of [standby, primary]) {
        try {
          run(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
        } catch {
          // already down
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
