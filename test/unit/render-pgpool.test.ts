import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { confSettings } from "./conf-files";
import {
  renderPgpoolConf,
  renderPoolHba,
  type PgpoolConfInput,
} from "../../components/render/pgpool";

const base: PgpoolConfInput = {
  backends: [
    { host: "pg-0", port: 5432, name: "pg_0" },
    { host: "pg-1", port: 5432, name: "pg_1" },
  ],
  port: 9999,
  numInitChildren: 28,
  healthCheckPeriodSeconds: 1,
  healthCheckMaxRetries: 2,
};

const settings = (conf: string) => Object.fromEntries(confSettings(conf));

describe("renderPgpoolConf", () => {
  it("runs streaming replication with failover-capable backends in node-id order", () => {
    expect(settings(renderPgpoolConf(base))).toMatchObject({
      backend_clustering_mode: "'streaming_replication'",
      listen_addresses: "'*'",
      port: "9999",
      backend_hostname0: "'pg-0'",
      backend_port0: "5432",
      backend_flag0: "'ALLOW_TO_FAILOVER'",
      backend_application_name0: "'pg_0'",
      backend_hostname1: "'pg-1'",
      backend_flag1: "'ALLOW_TO_FAILOVER'",
      backend_application_name1: "'pg_1'",
      num_init_children: "28",
      max_pool: "1",
    });
  });

  it("logs the failover's steps (LOG level), not every session", () => {
    expect(settings(renderPgpoolConf(base))).toMatchObject({
      log_min_messages: "log",
      log_connections: "off",
    });
  });

  it("wakes one child per new connection (serialize_accept, which needs child_life_time 0)", () => {
    expect(settings(renderPgpoolConf(base))).toMatchObject({
      serialize_accept: "on",
      child_life_time: "0",
    });
  });

  it("balances reads of database app to the standby, statement by statement", () => {
    expect(settings(renderPgpoolConf(base))).toMatchObject({
      load_balance_mode: "on",
      database_redirect_preference_list: "'app:standby'",
      statement_level_load_balance: "on",
    });
  });

  it("checks health and promotes with the pgpool role, passwords from pool_passwd", () => {
    const conf = settings(
      renderPgpoolConf({ ...base, healthCheckPeriodSeconds: 3, healthCheckMaxRetries: 4 }),
    );
    expect(conf).toMatchObject({
      health_check_period: "3",
      health_check_max_retries: "4",
      health_check_user: "'pgpool'",
      health_check_password: "''",
      sr_check_user: "'pgpool'",
      sr_check_password: "''",
      failover_command: "'/usr/local/bin/pgpool-failover %d %h %p %m %H %P %r'",
      failover_on_backend_error: "on",
      detach_false_primary: "on",
      auto_failback: "on",
      enable_pool_hba: "on",
      pool_passwd: "'/etc/pgpool2/pool_passwd'",
      use_watchdog: "off",
    });
    // A connect to a container that just died hangs until connect_timeout, and a session's
    // connect is what detects a dead primary first: it bounds the failover's detection.
    expect(Number(conf.connect_timeout)).toBe(250);
    expect(Number(conf.auto_failback_interval)).toBeGreaterThan(0);
  });

  it("keeps runtime files where user postgres may write and logs to stderr", () => {
    expect(settings(renderPgpoolConf(base))).toMatchObject({
      pid_file_name: "'/var/run/pgpool/pgpool.pid'",
      logdir: "'/var/log/pgpool'",
      unix_socket_directories: "'/var/run/pgpool'",
      pcp_socket_dir: "'/var/run/pgpool'",
      log_destination: "'stderr'",
      logging_collector: "off",
    });
  });

  it("puts no password in the file", () => {
    for (const [key, value] of Object.entries(settings(renderPgpoolConf(base)))) {
      if (key.endsWith("_password")) expect(value, key).toBe("''");
    }
  });

  it.each([
    [{ backends: [] }, "pgpool backends.length is 0; allowed: a whole number from 1 to 16"],
    [
      { backends: [{ host: "pg_0", port: 5432, name: "pg_0" }] },
      `pgpool backends[0].host is "pg_0"; allowed: a lower-case host name`,
    ],
    [
      { backends: [{ host: "pg-0", port: 0, name: "pg_0" }] },
      "pgpool backends[0].port is 0; allowed: a whole number from 1 to 65535",
    ],
    [
      { backends: [{ host: "pg-0", port: 5432, name: "pg-0" }] },
      `pgpool backends[0].name is "pg-0"; allowed: an application name of [a-z0-9_] starting with a letter or '_'`,
    ],
    [
      {
        backends: [
          { host: "pg-0", port: 5432, name: "pg_0" },
          { host: "pg-0", port: 5433, name: "pg_1" },
        ],
      },
      `pgpool backends[1].host is "pg-0"; allowed: a host no other backend has`,
    ],
    [{ port: 70000 }, "pgpool port is 70000; allowed: a whole number from 1 to 65535"],
    [{ numInitChildren: 0 }, "pgpool numInitChildren is 0; allowed: a whole number from 1 to 4096"],
    [
      { healthCheckPeriodSeconds: 0 },
      "pgpool healthCheckPeriodSeconds is 0; allowed: a whole number from 1 to 300",
    ],
    [
      { healthCheckMaxRetries: -1 },
      "pgpool healthCheckMaxRetries is -1; allowed: a whole number from 0 to 60",
    ],
  ])("rejects %j", (change, message) => {
    expect(() => renderPgpoolConf({ ...base, ...(change as Partial<PgpoolConfInput>) })).toThrow(
      new Error(message),
    );
  });
});

describe("renderPoolHba", () => {
  it("asks every client for a scram password and rejects unknown addresses", () => {
    const rules = renderPoolHba()
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("#"))
      .map((line) => line.split(/\s+/));
    expect(rules).toEqual([
      ["local", "all", "all", "scram-sha-256"],
      ["host", "all", "all", "127.0.0.1/32", "scram-sha-256"],
      ["host", "all", "all", "samenet", "scram-sha-256"],
      ["host", "all", "all", "all", "reject"],
    ]);
  });
});

// The host's pgpool (Debian bookworm: 4.3) parses the file on `stop`: a bad value is fatal
// before it looks for the pid file. (It silently ignores names it does not know; the e2e image
// test checks every name against pgpool 4.6's own sample.)
const hostPgpool = ["/usr/sbin/pgpool", "/usr/bin/pgpool"].find((p) => fs.existsSync(p));

describe.skipIf(hostPgpool === undefined)("the host's pgpool", () => {
  function parse(conf: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hs-db-pgpool-"));
    try {
      fs.writeFileSync(path.join(dir, "pgpool.conf"), conf);
      fs.writeFileSync(path.join(dir, "pcp.conf"), "");
      fs.writeFileSync(path.join(dir, "pool_hba.conf"), renderPoolHba());
      const run = spawnSync(
        hostPgpool!,
        ["-f", `${dir}/pgpool.conf`, "-F", `${dir}/pcp.conf`, "-a", `${dir}/pool_hba.conf`, "stop"],
        { encoding: "utf8" },
      );
      return run.stdout + run.stderr;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it("parses the file up to looking for the (absent) pid file", () => {
    const out = parse(renderPgpoolConf(base));
    expect(out).toContain("could not read pid file");
    expect(out).not.toMatch(/invalid value|syntax error|unrecognized/i);
  });

  it("would reject a bad value (the check can fail)", () => {
    const out = parse(renderPgpoolConf(base).replace("max_pool = 1", "max_pool = many"));
    expect(out).toContain(`invalid value for parameter "max_pool"`);
  });
});
