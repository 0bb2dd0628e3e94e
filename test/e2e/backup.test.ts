// Backups that restore, through the real engine: a source stack archives WAL and takes a base
// backup, and its schedule loop chooses between a full and a differential; a new stack restores
// to a moment T between two writes (rows before T there, rows after it and the DROP TABLE not);
// the same across a failover between the backup and T (the archive follows the new timeline); a
// destroy with retainData=false keeps the repository and the same stack restores from it;
// targets outside the window and bad config fail, changing nothing. README, "Backups and restore".
import * as fs from "node:fs";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  backupContainer,
  repositoryInfo,
  takeBackup,
  type BackupRecord,
  type TakenBackup,
} from "../../ops/backup";
import { docker, exec, logs, psql } from "../../ops/docker";
import { get } from "../../ops/http";
import { waitFor } from "../../ops/poll";
import {
  destroyStack,
  downStack,
  previewStack,
  StackError,
  upStack,
  type Stack,
} from "../../ops/stack";

const SOURCE = "bk";
const RESTORED = "bk-restored";
const BAD = "bk-bad";
const base = (http: number) => ({
  replicas: "1",
  httpPort: String(http),
  pgpoolPort: String(http + 1),
  adminUi: "false",
  collectorIntervalSeconds: "0",
  backupSchedule: "off",
});
const SOURCE_CONFIG = base(29110);
const RESTORED_CONFIG = base(29120);

const RESTORED_PORT = Number(RESTORED_CONFIG.pgpoolPort);

/** `up` of a new stack restored from the source's repository to `t`. */
async function restoreSourceTo(t: string): Promise<Stack> {
  return upStack(RESTORED, { ...RESTORED_CONFIG, restoreTo: t, restoreFrom: SOURCE });
}

let source: Stack;
let firstBackup: TakenBackup;

async function client(stack: Stack, port: number): Promise<pg.Client> {
  const c = new pg.Client({
    host: "127.0.0.1",
    port,
    user: "app",
    database: "app",
    password: String(stack.result.outputs.appPassword),
  });
  await c.connect();
  return c;
}

async function sql(stack: Stack, port: number, text: string, values: unknown[] = []) {
  const c = await client(stack, port);
  try {
    return (await c.query(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** `pg-0` or `pg-1`, whichever is primary now. */
async function primaryOf(stack: Stack): Promise<string> {
  for (const node of ["pg-0", "pg-1"]) {
    const rows = await psql(stack.container(node), "SELECT pg_is_in_recovery()").catch(() => []);
    if (rows[0]?.[0] === "f") return node;
  }
  throw new Error("no primary");
}

/** Closes the current WAL segment and waits until the archive's last commit is after `t`. */
async function archivedPast(stack: Stack, t: string): Promise<void> {
  await psql(stack.container(await primaryOf(stack)), "SELECT pg_switch_wal()", "postgres");
  await waitFor(
    "the archive to hold a commit after T",
    async () => {
      const info = await repositoryInfo(stack.name);
      return info.window.latest !== null && info.window.latest > t ? info : undefined;
    },
    90_000,
    2000,
  );
}

/** Writes rows tagged `tag` into `table`. */
async function write(stack: Stack, table: string, tag: string, n = 50): Promise<void> {
  await sql(
    stack,
    Number(SOURCE_CONFIG.pgpoolPort),
    `INSERT INTO ${table} (tag) SELECT $1 FROM generate_series(1, $2::int)`,
    [tag, n],
  );
}

/** A moment strictly between two writes, as the database's clock says (UTC, ms). */
async function noteT(): Promise<string> {
  await new Promise((r) => setTimeout(r, 1100));
  const t = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 1100));
  return t;
}

async function tags(stack: Stack, port: number, table: string): Promise<Record<string, number>> {
  const rows = await sql(stack, port, `SELECT tag, count(*)::int AS n FROM ${table} GROUP BY tag`);
  return Object.fromEntries(rows.map((r) => [r.tag, r.n]));
}

/** Whether Docker knows the object (an inspect that succeeds). */
async function found(inspect: Promise<unknown>): Promise<boolean> {
  return inspect.then(() => true).catch(() => false);
}

beforeAll(async () => {
  source = await upStack(SOURCE, SOURCE_CONFIG);
  await sql(source, Number(SOURCE_CONFIG.pgpoolPort), "CREATE TABLE keep (tag text)");
  await write(source, "keep", "kept");
});

afterAll(async () => {
  for (const name of [BAD, RESTORED, SOURCE]) {
    await destroyStack(name).catch((e: unknown) => console.log(`cleanup ${name}: ${String(e)}`));
  }
});

afterEach(async (context) => {
  if (context.task.result?.state !== "fail") return;
  for (const c of [`ha-stack-${SOURCE}-backup`, `ha-stack-${RESTORED}-pg-0`]) {
    const text = await logs(c).catch(() => "");
    console.log(`----- last log lines of ${c}\n${text.split("\n").slice(-40).join("\n")}`);
  }
});

describe("backups and point-in-time restore", () => {
  it("archives from the primary and takes a full backup on demand (label, size, time)", async () => {
    firstBackup = await takeBackup(SOURCE, "full");
    expect(firstBackup.label).toMatch(/^\d{8}-\d{6}F$/);
    expect(firstBackup.type).toBe("full");
    expect(firstBackup.size).toBeGreaterThan(1_000_000);
    // zstd: the repository holds less than the database.
    expect(firstBackup.repoSize).toBeLessThan(firstBackup.size);
    const info = await repositoryInfo(SOURCE);
    expect(info.backups.map((b) => b.label)).toContain(firstBackup.label);
    expect(info.window.earliest).toBe(firstBackup.stop);
    expect(info.archive.min).toMatch(/^[0-9A-F]{24}$/);
    // The primary archives, the standby does not (archive_mode on, not always). Pushes before
    // the backup container created the stanza failed and were retried: the last one succeeded.
    const [archived] = await psql(
      source.container("pg-0"),
      `SELECT archived_count > 0, last_failed_time IS NULL OR last_archived_time > last_failed_time
         FROM pg_stat_archiver`,
    );
    expect(archived).toEqual(["t", "t"]);
    const [standby] = await psql(
      source.container("pg-1"),
      "SELECT archived_count, failed_count FROM pg_stat_archiver",
    );
    expect(standby).toEqual(["0", "0"]);
  });

  it("takes scheduled backups by itself: a differential when the last backup is old enough, a full when the last full is", async () => {
    const every = 10;
    const fullEvery = 25;
    const before = (await repositoryInfo(SOURCE)).backups;
    // The backup container's own schedule loop (this stack's schedule is off), run a second time
    // with its periods shortened, for 45 s; timeout(1) ends it (exit 124) while it sleeps.
    await exec(
      backupContainer(SOURCE),
      [
        "env",
        `PG_BACKUP_EVERY_SECONDS=${every}`,
        `PG_BACKUP_FULL_EVERY_SECONDS=${fullEvery}`,
        "timeout",
        "45",
        "pg-backup",
        "schedule",
        "hourly",
      ],
      "postgres",
    ).catch((e: Error) => expect(e.message).toMatch(/exited 124/));
    const after = (await repositoryInfo(SOURCE)).backups as (BackupRecord & { prior?: string })[];
    const known = new Set(before.map((b) => b.label));
    const taken = after.filter((b) => !known.has(b.label));
    const seconds = (iso: string) => Date.parse(iso) / 1000;
    expect(taken.map((b) => b.type)).toContain("diff");
    expect(taken.map((b) => b.type)).toContain("full");
    let last = before.at(-1)!;
    let lastFull = [...before].reverse().find((b) => b.type === "full")!;
    for (const b of taken) {
      // Never before the period is up (the loop wakes every 15 s), and a full exactly when the
      // last full had grown older than its period (1 s of slack: the loop reads the clock
      // before pgbackrest stamps the start).
      expect(seconds(b.start) - seconds(last.stop), b.label).toBeGreaterThanOrEqual(every - 1);
      const fullDue = seconds(b.start) - seconds(lastFull.stop) >= fullEvery + 1;
      const fullNotDue = seconds(b.start) - seconds(lastFull.stop) < fullEvery - 1;
      if (fullDue) expect(b.type, b.label).toBe("full");
      if (fullNotDue) expect(b.type, b.label).toBe("diff");
      if (b.type === "diff") expect(b.prior, b.label).toBe(lastFull.label);
      last = b;
      if (b.type === "full") lastFull = b;
    }
  });

  it("restores a new stack to T: rows written before T are there, rows after T are not", async () => {
    const port = Number(SOURCE_CONFIG.pgpoolPort);
    await sql(source, port, "CREATE TABLE t (tag text)");
    await write(source, "t", "A");
    await takeBackup(SOURCE, "diff");
    await write(source, "t", "B");
    const t = await noteT();
    await write(source, "t", "C");
    await sql(source, port, "DROP TABLE t");
    await archivedPast(source, t);

    const restored = await restoreSourceTo(t);
    expect(await tags(restored, RESTORED_PORT, "t")).toEqual({ A: 50, B: 50 });
    expect(await tags(restored, RESTORED_PORT, "keep")).toEqual({ kept: 50 });
    // pg-1 cloned the restored pg-0 and streams from it.
    const [streaming] = await psql(
      restored.container("pg-0"),
      "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
    );
    expect(streaming).toEqual(["1"]);
    const pg0 = await logs(restored.container("pg-0"));
    expect(pg0).toContain("recovery.signal: replaying the backup archive to the restore target");
  });

  it("restores across a failover between the backup and T (the archive follows the new timeline)", async () => {
    const port = Number(SOURCE_CONFIG.pgpoolPort);
    await sql(source, port, "CREATE TABLE t2 (tag text)");
    await write(source, "t2", "A");
    await takeBackup(SOURCE, "diff");
    // Crash the primary's postmaster; pgpool promotes the standby.
    const old = await primaryOf(source);
    await exec(
      source.container(old),
      ["sh", "-c", 'kill -9 "$(head -n 1 "$PGDATA/postmaster.pid")"'],
      "postgres",
    );
    const promoted = old === "pg-0" ? "pg-1" : "pg-0";
    await waitFor(
      `${promoted} to be promoted`,
      async () => ((await primaryOf(source).catch(() => "")) === promoted ? true : undefined),
      60_000,
      1000,
    );
    await waitFor(
      "writes through pgpool again",
      async () =>
        write(source, "t2", "B")
          .then(() => true)
          .catch(() => undefined),
      60_000,
      1000,
    );
    const t = await noteT();
    await write(source, "t2", "C");
    await sql(source, port, "DROP TABLE t2");
    await archivedPast(source, t);
    const info = await repositoryInfo(SOURCE);
    // The newest archived segment is on the promoted node's timeline.
    expect(Number.parseInt(info.archive.max!.slice(0, 8), 16)).toBeGreaterThan(1);

    await destroyStack(RESTORED);
    const restored = await restoreSourceTo(t);
    expect(await tags(restored, RESTORED_PORT, "t2")).toEqual({ A: 50, B: 50 });
  });

  it("refuses a target before the first backup, naming the window, and creates no database", async () => {
    const before = new Date(Date.parse(firstBackup.start) - 60_000).toISOString();
    const error = await upStack(BAD, {
      ...base(29130),
      restoreTo: before,
      restoreFrom: SOURCE,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `restore target ${before.replace(/[.]/g, "\\.")} is outside the recoverable window from \\S+ to \\S+`,
      ),
    );
    expect(await found(docker.getContainer(`ha-stack-${BAD}-pg-0`).inspect())).toBe(false);
    // pg-0's volume stays empty (this test runs on the Docker host): a corrected target
    // restores into it.
    const volume = await docker.getVolume(`ha-stack-${BAD}-pg-0-data`).inspect();
    expect(fs.readdirSync(volume.Mountpoint)).toEqual([]);
  });

  it("refuses bad backup config in preview, naming key and value, and changes nothing", async () => {
    for (const [key, value, message] of [
      [
        "backupSchedule",
        "weekly",
        `ha-stack:backupSchedule is "weekly"; allowed: off, hourly, daily`,
      ],
      [
        "backupRetention",
        "0",
        `ha-stack:backupRetention is "0"; allowed: a whole number from 1 to 365`,
      ],
      [
        "restoreTo",
        "2999-01-01T00:00:00Z",
        `ha-stack:restoreTo is "2999-01-01T00:00:00Z"; allowed: a moment that has passed`,
      ],
    ]) {
      const error = await previewStack(SOURCE, {
        config: { ...SOURCE_CONFIG, [key]: value },
      }).catch((e: unknown) => e);
      expect(error, key).toBeInstanceOf(StackError);
      expect((error as Error).message, key).toContain(message);
    }
    // The source stack is as it was: a preview with its own config finds nothing to do.
    await previewStack(SOURCE, { config: SOURCE_CONFIG, expectNoChanges: true });
  });

  it("keeps the repository through destroy with retainData=false; the stack restores from it", async () => {
    await upStack(SOURCE, { ...SOURCE_CONFIG, retainData: "false" });
    await downStack(SOURCE);
    expect(await found(docker.getVolume(`ha-stack-${SOURCE}-pg-0-data`).inspect())).toBe(false);
    expect(await found(docker.getVolume(`ha-stack-${SOURCE}-backups`).inspect())).toBe(true);
    const restoring = new Date().toISOString();
    source = await upStack(SOURCE, { ...SOURCE_CONFIG, restoreTo: "latest" });
    const port = Number(SOURCE_CONFIG.pgpoolPort);
    expect(await tags(source, port, "keep")).toEqual({ kept: 50 });
    // The tables dropped before the end of the archive stay dropped.
    const [t2] = await sql(source, port, "SELECT to_regclass('t2') IS NULL AS gone");
    expect(t2.gone).toBe(true);
    // The status board shows the repository the backup container reports: the last backup,
    // the window, the archiver of the restored primary.
    const info = await repositoryInfo(SOURCE);
    const board = await waitFor(
      "the backup container's report on the status board",
      async () => {
        const status = JSON.parse((await get(`${source.url}api/status`)).body);
        // Newer than the restore: the restored database holds the old stack's last report.
        const reportedAt: string | undefined = status.backups?.value?.reportedAt;
        return reportedAt && reportedAt > restoring ? status.backups.value : undefined;
      },
      90_000,
      2000,
    );
    expect(board.last.label).toBe(info.backups.at(-1)!.label);
    expect(board.count).toBe(info.backups.length);
    expect(board.window.earliest).toBe(info.window.earliest);
    expect(board.archiver.archivedCount).toBeGreaterThan(0);
  });
});
