import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { confSettings as settings } from "./conf-files";
import {
  renderPgHba,
  renderPostgresqlConf,
  type PostgresConfInput,
} from "../../components/render/postgres";

const base: PostgresConfInput = {
  nodeName: "pg-0",
  peerHost: "pg-1",
  synchronousReplication: false,
  maxConnections: 48,
  memoryMb: 512,
  archive: true,
};

describe("renderPostgresqlConf", () => {
  it("sets what every node needs to be a primary or a standby of its peer", () => {
    const conf = settings(renderPostgresqlConf(base));
    expect(Object.fromEntries(conf)).toMatchObject({
      listen_addresses: "'*'",
      port: "5432",
      unix_socket_directories: "'/var/run/postgresql, /var/lib/postgresql/pg-0/run'",
      hba_file: "'/etc/ha-stack/pg_hba.conf'",
      max_connections: "48",
      password_encryption: "scram-sha-256",
      wal_level: "replica",
      wal_log_hints: "on",
      hot_standby: "on",
      hot_standby_feedback: "on",
      max_slot_wal_keep_size: "2GB",
      primary_conninfo:
        "'host=pg-1 port=5432 user=replicator passfile=/var/lib/postgresql/.pgpass application_name=pg_0 connect_timeout=3'",
      primary_slot_name: "'pg_0'",
      recovery_target_timeline: "'latest'",
      log_destination: "'stderr'",
      logging_collector: "off",
    });
    // -D gives the data directory; the config must not pin one.
    expect(conf.has("data_directory")).toBe(false);
    expect(Number(conf.get("max_wal_senders"))).toBeGreaterThanOrEqual(2);
    expect(Number(conf.get("max_replication_slots"))).toBeGreaterThanOrEqual(2);
  });

  it("names the other node as upstream and its own slot on pg-1", () => {
    const conf = settings(renderPostgresqlConf({ ...base, nodeName: "pg-1", peerHost: "pg-0" }));
    expect(conf.get("primary_conninfo")).toContain("host=pg-0 ");
    expect(conf.get("primary_conninfo")).toContain("application_name=pg_1 ");
    expect(conf.get("primary_slot_name")).toBe("'pg_1'");
    expect(conf.get("cluster_name")).toBe("'pg-1'");
  });

  it("waits for either standby to apply a commit only when synchronous", () => {
    const sync = settings(renderPostgresqlConf({ ...base, synchronousReplication: true }));
    expect(sync.get("synchronous_standby_names")).toBe("'ANY 1 (pg_0, pg_1)'");
    expect(sync.get("synchronous_commit")).toBe("remote_apply");
    const async = settings(renderPostgresqlConf(base));
    expect(async.get("synchronous_standby_names")).toBe("''");
    expect(async.get("synchronous_commit")).toBe("on");
  });

  it("archives WAL through pgBackRest on whichever node is primary (archive_mode on, not always)", () => {
    const conf = settings(renderPostgresqlConf(base));
    expect(conf.get("archive_mode")).toBe("on");
    expect(conf.get("archive_command")).toBe("'pgbackrest --stanza=ha-stack archive-push %p'");
    expect(conf.get("archive_timeout")).toBe("60s");
    const pg1 = settings(renderPostgresqlConf({ ...base, nodeName: "pg-1", peerHost: "pg-0" }));
    expect(pg1.get("archive_mode")).toBe("on");
    expect(pg1.get("unix_socket_directories")).toBe(
      "'/var/run/postgresql, /var/lib/postgresql/pg-1/run'",
    );
  });

  it("archives nothing and keeps one socket without a repository (swarm)", () => {
    const conf = settings(renderPostgresqlConf({ ...base, archive: false }));
    expect(conf.get("archive_mode")).toBe("off");
    expect(conf.get("archive_command")).toBe("''");
    expect(conf.get("unix_socket_directories")).toBe("'/var/run/postgresql'");
  });

  it("sizes memory from the container limit", () => {
    const small = settings(renderPostgresqlConf({ ...base, memoryMb: 512 }));
    expect(small.get("shared_buffers")).toBe("128MB");
    expect(small.get("effective_cache_size")).toBe("256MB");
    expect(small.get("maintenance_work_mem")).toBe("32MB");
    expect(small.get("work_mem")).toBe("2730kB");
    const large = settings(renderPostgresqlConf({ ...base, memoryMb: 4096, maxConnections: 100 }));
    expect(large.get("shared_buffers")).toBe("1024MB");
    expect(large.get("work_mem")).toBe("10485kB");
  });

  it("puts no password in the file", () => {
    expect(renderPostgresqlConf(base)).not.toMatch(/password=/);
  });

  it.each([
    [{ nodeName: "pg-2" }, `postgres nodeName is "pg-2"; allowed: pg-0, pg-1`],
    [
      { peerHost: "PG 1" },
      `postgres peerHost is "PG 1"; allowed: a lower-case host name (letters, digits, '-', '.')`,
    ],
    [
      { peerHost: "pg-0" },
      `postgres peerHost is "pg-0"; allowed: the other node than nodeName pg-0`,
    ],
    [
      { synchronousReplication: "yes" },
      `postgres synchronousReplication is "yes"; allowed: true or false`,
    ],
    [
      { maxConnections: 9 },
      "postgres maxConnections is 9; allowed: a whole number from 10 to 10000",
    ],
    [
      { maxConnections: 50.5 },
      "postgres maxConnections is 50.5; allowed: a whole number from 10 to 10000",
    ],
    [{ memoryMb: 64 }, "postgres memoryMb is 64; allowed: a whole number from 128 to 1048576"],
    [{ memoryMb: NaN }, "postgres memoryMb is NaN; allowed: a whole number from 128 to 1048576"],
    [{ archive: "on" }, `postgres archive is "on"; allowed: true or false`],
  ])("rejects %j", (change, message) => {
    expect(() =>
      renderPostgresqlConf({ ...base, ...(change as Partial<PostgresConfInput>) }),
    ).toThrow(new Error(message));
  });
});

describe("renderPgHba", () => {
  it("allows the local postgres user, password logins from the backend network, nothing else", () => {
    const rules = renderPgHba()
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("#"))
      .map((line) => line.split(/\s+/));
    expect(rules).toEqual([
      ["local", "all", "postgres", "peer"],
      ["host", "all", "all", "samenet", "scram-sha-256"],
      ["host", "replication", "all", "samenet", "scram-sha-256"],
      ["local", "all", "all", "reject"],
      ["host", "all", "all", "all", "reject"],
      ["host", "replication", "all", "all", "reject"],
    ]);
  });
});

// The host's own PostgreSQL (Debian bookworm: 15) parses the file: unknown parameters and bad
// values fail here. The e2e image test repeats this with the image's PostgreSQL 17.
const hostPostgres = ["17", "16", "15"]
  .map((v) => `/usr/lib/postgresql/${v}/bin/postgres`)
  .find((p) => fs.existsSync(p));

describe.skipIf(hostPostgres === undefined)(`the host's ${hostPostgres ?? "postgres"}`, () => {
  /** `postgres -C name` against the rendered file, as an unprivileged user when we are root. */
  function show(conf: string, names: string[]): { status: number | null; out: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hs-db-pgconf-"));
    const data = path.join(dir, "data");
    fs.mkdirSync(data, { mode: 0o700 });
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, "postgresql.conf"), conf, { mode: 0o644 });
    const ids = process.getuid?.() === 0 ? postgresUser() : {};
    if (ids.uid !== undefined) fs.chownSync(data, ids.uid, ids.gid!);
    try {
      let out = "";
      for (const name of names) {
        const run = spawnSync(
          hostPostgres!,
          ["-D", data, "-C", name, "-c", `config_file=${path.join(dir, "postgresql.conf")}`],
          { encoding: "utf8", ...ids },
        );
        if (run.status !== 0) return { status: run.status, out: run.stderr };
        out += run.stdout;
      }
      return { status: 0, out };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it("accepts both nodes' files and reads back the values", () => {
    for (const node of [0, 1] as const) {
      const conf = renderPostgresqlConf({
        ...base,
        nodeName: `pg-${node}`,
        peerHost: `pg-${1 - node}`,
        synchronousReplication: true,
      });
      const result = show(conf, [
        "shared_buffers",
        "synchronous_standby_names",
        "primary_slot_name",
        "hba_file",
        "archive_command",
      ]);
      expect(result.out).toBe(
        `16384\nANY 1 (pg_0, pg_1)\npg_${node}\n/etc/ha-stack/pg_hba.conf\npgbackrest --stanza=ha-stack archive-push %p\n`,
      );
    }
  });

  it("would reject a misspelt parameter (the check can fail)", () => {
    const result = show(renderPostgresqlConf(base) + "hot_standbyy = on\n", ["port"]);
    expect(result.status).not.toBe(0);
    expect(result.out).toContain('unrecognized configuration parameter "hot_standbyy"');
  });
});

function postgresUser(): { uid?: number; gid?: number } {
  const run = spawnSync("id", ["postgres"], { encoding: "utf8" });
  const uid = /uid=(\d+)/.exec(run.stdout)?.[1];
  const gid = /gid=(\d+)/.exec(run.stdout)?.[1];
  if (run.status !== 0 || uid === undefined || gid === undefined) {
    throw new Error("running as root needs a 'postgres' user to run the host's postgres binary");
  }
  return { uid: Number(uid), gid: Number(gid) };
}
