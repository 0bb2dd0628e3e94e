// Backup and restore costs on a stack of its own (`bench-backup` unless BENCH_STACK says
// otherwise; 127.0.0.1:29140, pgpool on 29141): a full backup's time and size, and a restore's
// time (pgbackrest restore of the files plus PostgreSQL replaying the archive and promoting, in a
// throwaway container of the postgres image, as pg-0 does on a restored stack's first start),
// with 10^5 and then 10^6 rows in the request log; then the WAL archive's lag under the failover
// bench's write load (20 single-row inserts a second through pgpool). Needs the Docker engine
// and the base image; takes a few minutes.
//   npm run bench:backup
import { execFile } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import pg from "pg";
import { mib, takeBackup } from "../ops/backup";
import { psql } from "../ops/docker";
import { destroyStack, upStack, type Stack } from "../ops/stack";
import { report, type Figure } from "./report";

const run = promisify(execFile);
const STACK = process.env.BENCH_STACK ?? "bench-backup";
const CONFIG = {
  replicas: "1",
  httpPort: "29140",
  pgpoolPort: "29141",
  adminUi: "false",
  collectorIntervalSeconds: "0",
  backupSchedule: "off",
};
const WRITE_RATE = 20;
const LOAD_SECONDS = 150;

async function client(stack: Stack): Promise<pg.Client> {
  const c = new pg.Client({
    host: "127.0.0.1",
    port: Number(CONFIG.pgpoolPort),
    user: "app",
    database: "app",
    password: String(stack.result.outputs.appPassword),
  });
  await c.connect();
  return c;
}

/** Fills the request log up to `rows` rows, as app replicas would have logged them. */
async function fill(stack: Stack, rows: number): Promise<void> {
  const c = await client(stack);
  try {
    const { rows: have } = await c.query<{ n: string }>("SELECT count(*) AS n FROM requests");
    const missing = rows - Number(have[0].n);
    if (missing > 0) {
      await c.query(
        `INSERT INTO requests (method, path, replica, hostname, created_at)
         SELECT 'GET', '/api/users/' || (g % 7 + 1), g % 3, 'app-' || (g % 3),
                now() - (g || ' ms')::interval
           FROM generate_series(1, $1::int) g`,
        [missing],
      );
    }
  } finally {
    await c.end();
  }
}

/**
 * The restore a restored stack's pg-0 does, timed: pgbackrest restore of the latest moment into
 * a scratch directory of a throwaway container, then PostgreSQL replays the archive and promotes.
 */
async function timedRestore(stack: Stack): Promise<{ restore: number; replay: number }> {
  const image = (
    await run("docker", ["inspect", "-f", "{{.Config.Image}}", stack.container("pg-0")])
  ).stdout.trim();
  const script = [
    "set -e",
    "t0=$(date +%s.%N)",
    "pg-backup restore latest /tmp/r/pgdata >/tmp/restore.log 2>&1 || { cat /tmp/restore.log >&2; exit 1; }",
    "t1=$(date +%s.%N)",
    // max_connections as high as the stack's (414): recovery refuses a lower one.
    "postgres -D /tmp/r/pgdata -c listen_addresses= -c unix_socket_directories=/tmp -c archive_mode=off -c max_connections=500 -c config_file=/tmp/r/pgdata/postgresql.conf >/tmp/pg.log 2>&1 &",
    'until [ "$(psql -h /tmp -U postgres -d postgres -AtXq -c "SELECT NOT pg_is_in_recovery()" 2>/dev/null)" = t ]; do',
    "  kill -0 $! 2>/dev/null || { tail -n 20 /tmp/pg.log >&2; exit 1; }",
    "  sleep 0.2",
    "done",
    "t2=$(date +%s.%N)",
    'echo "$t0 $t1 $t2"',
  ].join("\n");
  const { stdout } = await run("docker", [
    "run",
    "--rm",
    "--network",
    "none",
    "--user",
    "postgres",
    "--volume",
    `ha-stack-${STACK}-backups:/var/lib/pgbackrest:ro`,
    "--entrypoint",
    "bash",
    image,
    "-c",
    script,
  ]);
  const [t0, t1, t2] = stdout.trim().split(" ").map(Number);
  return { restore: t1 - t0, replay: t2 - t1 };
}

async function primary(stack: Stack): Promise<string> {
  for (const node of ["pg-0", "pg-1"]) {
    const rows = await psql(stack.container(node), "SELECT pg_is_in_recovery()").catch(() => []);
    if (rows[0]?.[0] === "f") return stack.container(node);
  }
  throw new Error("no primary");
}

/** Archive lag while 20 inserts a second go through pgpool, sampled every second. */
async function archiveLag(stack: Stack): Promise<Figure[]> {
  const c = await client(stack);
  const pgPrimary = await primary(stack);
  let stop = false;
  let writes = 0;
  const writer = (async () => {
    while (!stop) {
      const at = Date.now();
      await c.query(
        "INSERT INTO requests (method, path, replica, hostname) VALUES ('GET', '/', 0, 'bench')",
      );
      writes++;
      await sleep(Math.max(0, at + 1000 / WRITE_RATE - Date.now()));
    }
  })();
  const ages: number[] = [];
  const behind: number[] = [];
  const [before] = await psql(pgPrimary, "SELECT failed_count FROM pg_stat_archiver");
  const started = Date.now();
  while (Date.now() - started < LOAD_SECONDS * 1000) {
    const [row] = await psql(
      pgPrimary,
      `SELECT extract(epoch FROM now() - last_archived_time)::float8,
              ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 9, 16))::bit(64)::bigint
            - ('x' || substr(coalesce(last_archived_wal, '000000010000000000000000'), 9, 16))::bit(64)::bigint
         FROM pg_stat_archiver`,
    );
    ages.push(Number(row[0]));
    behind.push(Number(row[1]) - 1);
    await sleep(1000);
  }
  // How long one finished segment takes to reach the repository: switch, then wait for it.
  const pushes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const [[segment]] = await psql(
      pgPrimary,
      "SELECT pg_walfile_name(pg_switch_wal())",
      "postgres",
    );
    const at = Date.now();
    for (;;) {
      const [[last]] = await psql(
        pgPrimary,
        "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver",
      );
      if (last >= segment) break;
      await sleep(50);
    }
    pushes.push((Date.now() - at) / 1000);
    await sleep(1000);
  }
  stop = true;
  await writer;
  await c.end();
  const [after] = await psql(pgPrimary, "SELECT failed_count FROM pg_stat_archiver");
  const max = (xs: number[]) => Math.max(...xs);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return [
    {
      name: `archive lag under ${WRITE_RATE} writes/s: age of the last archived segment`,
      value: `max ${max(ages).toFixed(1)} s, mean ${mean(ages).toFixed(1)} s`,
      note: `sampled every second for ${LOAD_SECONDS} s (${writes} writes); archive_timeout 60 s closes a quiet segment a minute, so the newest WAL reaches the repository at most about a minute late: the restore point objective`,
    },
    {
      name: "archive lag: finished segments not yet archived",
      value: `max ${max(behind)}, mean ${mean(behind).toFixed(2)}`,
      note: "current WAL segment minus the last archived one, minus the one being written",
    },
    {
      name: "archive push: a switched segment in the repository after",
      value: `${pushes.map((p) => p.toFixed(2)).join(", ")} s`,
      note: "pg_switch_wal() → pg_stat_archiver's last_archived_wal reaches it (archive-push, zstd, synchronous)",
    },
    {
      name: "archive failures during the load",
      value: String(Number(after[0]) - Number(before[0])),
      note: "pg_stat_archiver.failed_count",
    },
  ];
}

async function main(): Promise<void> {
  const figures: Figure[] = [];
  const stack = await upStack(STACK, CONFIG, undefined, { expectNoChangesAfter: false });
  try {
    for (const rows of [100_000, 1_000_000]) {
      await fill(stack, rows);
      const backup = await takeBackup(STACK, "full");
      const restore = await timedRestore(stack);
      const label = `10^${Math.log10(rows)} rows`;
      figures.push(
        {
          name: `full backup, ${label}`,
          value: `${backup.seconds} s`,
          note: `pgbackrest backup --type=full from the standby (backup-standby=prefer), start-fast; label ${backup.label}`,
        },
        {
          name: `full backup size, ${label}`,
          value: `${mib(backup.size)} → ${mib(backup.repoSize)}`,
          note: "database files → in the repository (zstd level 3)",
        },
        {
          name: `restore, ${label}`,
          value: `${(restore.restore + restore.replay).toFixed(1)} s`,
          note: `pgbackrest restore of the files ${restore.restore.toFixed(1)} s + replay of the archive to its end and promotion ${restore.replay.toFixed(1)} s (a restored stack's pg-0; the rest of its first up comes on top)`,
        },
      );
      console.log(figures.slice(-3));
    }
    figures.push(...(await archiveLag(stack)));
  } finally {
    await destroyStack(STACK);
  }
  report("Backups and restore", "npm run bench:backup", figures);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
