// Image-level test of postgres/ and pgpool/: builds both images, starts pg-0, pg-1 and pgpool
// with the configs our renderers produce (wired as docs/architecture.md says, directly with the
// docker CLI: not the whole program), then checks replication, routing, a crash failover under
// write load with synchronous replication, and the old primary rejoining as a standby.
import { Client } from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { renderPgHba, renderPostgresqlConf } from "../../components/render/postgres";
import { renderPgpoolConf } from "../../components/render/pgpool";
import {
  buildImages,
  DbCluster,
  docker,
  PGPOOL_IMAGE,
  POSTGRES_IMAGE,
  sleep,
} from "./support/db-cluster";

const cluster = new DbCluster({ synchronousReplication: true });

/** A client of pgpool from the host (the host routes to the internal network's containers). */
async function viaPgpool(user: "app" | "pgpool", database: string): Promise<Client> {
  const client = new Client({
    host: await cluster.address(cluster.pgpool),
    port: 9999,
    user,
    password: cluster.passwords[user],
    database,
    connectionTimeoutMillis: 3000,
    query_timeout: 5000,
  });
  client.on("error", () => {}); // a backend dying mid-session surfaces on the next query
  await client.connect();
  return client;
}

interface PoolNode {
  readonly host: string;
  readonly status: string;
  readonly role: string;
}

async function poolNodes(): Promise<PoolNode[]> {
  const client = await viaPgpool("pgpool", "postgres");
  try {
    const { rows } = await client.query<{ hostname: string; status: string; role: string }>(
      "SHOW pool_nodes",
    );
    return rows.map((r) => ({ host: r.hostname, status: r.status, role: r.role }));
  } finally {
    await client.end().catch(() => {});
  }
}

/** true = primary, false = standby, undefined = not answering. */
async function isPrimary(node: 0 | 1): Promise<boolean | undefined> {
  try {
    const [[value]] = await cluster.sql(cluster.pg(node), "SELECT NOT pg_is_in_recovery()");
    return value === "t";
  } catch {
    return undefined;
  }
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number) {
  const started = Date.now();
  let last: unknown;
  while (Date.now() - started < timeoutMs) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await sleep(200);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what} ${last ? String(last) : ""}`,
  );
}

describe("postgres and pgpool images", () => {
  beforeAll(async () => {
    await buildImages(process.env.BASE_IMAGE ?? "ha-stack-base:trixie");
    await cluster.createNetwork();
    // The program's order: pg-0 healthy, then pg-1 healthy, then pgpool.
    await cluster.createPostgres(0);
    await cluster.start(cluster.pg(0));
    await cluster.waitHealthy(cluster.pg(0));
    await cluster.createPostgres(1);
    await cluster.start(cluster.pg(1));
    await cluster.waitHealthy(cluster.pg(1));
    await cluster.createPgpool();
    await cluster.start(cluster.pgpool);
    await cluster.waitHealthy(cluster.pgpool);
  });

  afterEach(async (context) => {
    if (context.task.result?.state !== "fail") return;
    for (const c of [cluster.pg(0), cluster.pg(1), cluster.pgpool]) {
      console.log(`----- logs of ${c}\n${await cluster.logs(c)}`);
    }
  });

  afterAll(async () => {
    await cluster.destroy();
  });

  it("renders configs that the image's PostgreSQL 17 accepts", async () => {
    const conf = renderPostgresqlConf({
      nodeName: "pg-1",
      peerHost: "pg-0",
      synchronousReplication: true,
      maxConnections: 48,
      memoryMb: 512,
      archive: true,
    });
    const script = [
      "cat > /tmp/postgresql.conf",
      "mkdir -m 0700 /tmp/data",
      ...["server_version", "synchronous_standby_names", "primary_slot_name", "shared_buffers"].map(
        (p) => `postgres -D /tmp/data -c config_file=/tmp/postgresql.conf -C ${p}`,
      ),
    ].join(" && ");
    const out = await pipe(conf, [
      "run",
      "--rm",
      "-i",
      "--entrypoint",
      "bash",
      POSTGRES_IMAGE,
      "-c",
      script,
    ]);
    const values = out.split("\n").filter((line) => line !== "" && !line.includes(" LOG: "));
    expect(values).toEqual([expect.stringMatching(/^17\./), "ANY 1 (pg_0, pg_1)", "pg_1", "16384"]);
    // The same check fails on a bad file, so the assertion above means something.
    await expect(
      pipe(conf + "hot_standbyy = on\n", [
        "run",
        "--rm",
        "-i",
        "--entrypoint",
        "bash",
        POSTGRES_IMAGE,
        "-c",
        script,
      ]),
    ).rejects.toThrow(/unrecognized configuration parameter "hot_standbyy"/);
    // pg_hba.conf is parsed at start: the running nodes use it (a bad line would stop them).
    expect(
      await cluster.sql(
        cluster.pg(0),
        "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL",
      ),
    ).toEqual([["0"]]);
    expect(renderPgHba()).toContain("samenet");
  });

  it("renders a pgpool.conf that pgpool 4.6 parses, naming only parameters it knows", async () => {
    const conf = renderPgpoolConf({
      backends: [0, 1].map((i) => ({ host: `pg-${i}`, port: 5432, name: `pg_${i}` })),
      port: 9999,
      numInitChildren: 28,
      healthCheckPeriodSeconds: 1,
      healthCheckMaxRetries: 2,
    });
    const script =
      "cat > /tmp/pgpool.conf && : > /tmp/pcp.conf && : > /tmp/hba.conf && " +
      "pgpool --version 2>&1; pgpool -f /tmp/pgpool.conf -F /tmp/pcp.conf -a /tmp/hba.conf stop 2>&1; true";
    const args = ["run", "--rm", "-i", "--entrypoint", "bash", PGPOOL_IMAGE, "-c", script];
    const parsed = await pipe(conf, args);
    expect(parsed).toMatch(/pgpool-II version 4\.6\./);
    expect(parsed).toContain("could not read pid file");
    expect(parsed).not.toMatch(/invalid value|syntax error/i);
    expect(await pipe(conf.replace("max_pool = 1", "max_pool = many"), args)).toContain(
      'invalid value for parameter "max_pool"',
    );
    // pgpool ignores names it does not know: compare with the sample of the installed version.
    const sample = await docker([
      "run",
      "--rm",
      "--entrypoint",
      "cat",
      PGPOOL_IMAGE,
      "/usr/share/doc/pgpool2/examples/pgpool.conf.sample",
    ]);
    const known = new Set([...sample.matchAll(/^#?([a-z_]+[0-9]*) = /gm)].map((m) => m[1]));
    const ours = [...conf.matchAll(/^([a-z_]+[0-9]*) = /gm)].map((m) => m[1]);
    expect(known.size).toBeGreaterThan(100);
    expect(ours.filter((name) => !known.has(name))).toEqual([]);
  });

  it("streams from the primary pg-0 to pg-1 through slot pg_1, synchronously", async () => {
    expect(await isPrimary(0)).toBe(true);
    expect(await isPrimary(1)).toBe(false);
    const replication = await until(
      "pg_1 streaming",
      async () => {
        const rows = await cluster.sql(
          cluster.pg(0),
          "SELECT application_name, state, sync_state FROM pg_stat_replication",
        );
        return rows.length === 1 && rows[0][1] === "streaming" ? rows : undefined;
      },
      30_000,
    );
    expect(replication).toEqual([["pg_1", "streaming", "quorum"]]);
    expect(
      await cluster.sql(cluster.pg(0), "SELECT slot_name, active FROM pg_replication_slots"),
    ).toEqual([["pg_1", "t"]]);
  });

  it("lets the app role read replication state and lag (pg_monitor), as the status board does", async () => {
    const rows = await cluster.sql(
      cluster.pg(0),
      "SELECT pg_has_role('app', 'pg_monitor', 'USAGE'), pg_has_role('app', 'pg_read_all_stats', 'USAGE')",
    );
    expect(rows).toEqual([["t", "t"]]);
  });

  it("has pgpool see both backends up with pg-0 as the one primary", async () => {
    const nodes = await until(
      "both backends up",
      async () => {
        const n = await poolNodes();
        return n.every((x) => x.status === "up") ? n : undefined;
      },
      30_000,
    );
    expect(nodes).toEqual([
      { host: "pg-0", status: "up", role: "primary" },
      { host: "pg-1", status: "up", role: "standby" },
    ]);
  });

  it("sends writes to the primary and reads of database app to the standby", async () => {
    const app = await viaPgpool("app", "app");
    try {
      await app.query("CREATE TABLE writes (n integer PRIMARY KEY, at timestamptz DEFAULT now())");
      // Written and read back in one transaction: everything goes to the primary.
      await app.query("BEGIN");
      await app.query("INSERT INTO writes (n) VALUES (0)");
      const inTx = await app.query("SELECT current_setting('cluster_name') AS node FROM writes");
      await app.query("COMMIT");
      expect(inTx.rows).toEqual([{ node: "pg-0" }]);
      // A plain read is answered by the standby, and (remote_apply) already sees the commit.
      for (let i = 0; i < 5; i++) {
        const read = await app.query(
          "SELECT current_setting('cluster_name') AS node, current_setting('transaction_read_only') AS ro, count(*)::int AS n FROM writes",
        );
        expect(read.rows).toEqual([{ node: "pg-1", ro: "on", n: 1 }]);
      }
    } finally {
      await app.end();
    }
  });

  it("carries what the app relies on: LISTEN/NOTIFY to idle clients, stable-function reads on the standby", async () => {
    const listener = await viaPgpool("app", "app");
    const sender = await viaPgpool("app", "app");
    try {
      const received = new Promise<string | undefined>((resolve) => {
        listener.on("notification", (m) => resolve(m.payload));
        setTimeout(() => resolve(undefined), 10_000);
      });
      await listener.query("LISTEN chat");
      await sleep(500); // the listener is idle when the notification arrives
      await sender.query("SELECT pg_notify('chat', 'hello from another session')");
      expect(await received).toBe("hello from another session");
      const where = await sender.query(
        "SELECT host(inet_server_addr()) AS address, current_setting('in_hot_standby') AS standby",
      );
      expect(where.rows).toEqual([
        { address: await cluster.address(cluster.pg(1)), standby: "on" },
      ]);
    } finally {
      await listener.end().catch(() => {});
      await sender.end().catch(() => {});
    }
  });

  it("promotes pg-1 within seconds when the primary pg-0 crashes and stays down, losing no acknowledged write; pg-0 started again rejoins as a standby", async () => {
    // `docker kill` of the container: Docker's restart policy leaves it down (a manual kill),
    // like a node lost until the next `pulumi up` starts it again.
    await crashAndRecover(0, async () => {
      await docker(["kill", "--signal", "KILL", cluster.pg(0)]);
    });
    expect(await cluster.logs(cluster.pg(0))).toMatch(
      /pg-entrypoint: case 4: [^\n]*\n(.*\n)*pg-entrypoint: pg_rewind from pg-1 succeeded/,
    );
  });

  it("promotes pg-0 when the primary pg-1 crashes and Docker restarts it at once; pg-1 waits for the promotion and rejoins as a standby", async () => {
    const restartsBefore = await restartCount(cluster.pg(1));
    // SIGKILL of the postmaster inside the container: the container exits and the restart
    // policy starts it again within a second, before pgpool has decided anything.
    await crashAndRecover(1, async () => {
      await docker([
        "exec",
        "-u",
        "postgres",
        cluster.pg(1),
        "sh",
        "-c",
        'kill -KILL "$(head -n 1 "$PGDATA/postmaster.pid")"',
      ]);
    });
    expect(await restartCount(cluster.pg(1))).toBe(restartsBefore + 1);
    // Depending on how fast pgpool promoted pg-0, pg-1's entrypoint found it still a standby
    // (case 5: wait) or already primary (case 4): either way it rewound and became a standby.
    const logs = await cluster.logs(cluster.pg(1));
    const lastRun = logs.slice(logs.lastIndexOf("pg-entrypoint: node pg-1"));
    expect(lastRun).toMatch(
      /(pg-entrypoint: case 5: [^\n]*\n(.*\n)*)?pg-entrypoint: case 4: [^\n]*\n(.*\n)*pg-entrypoint: pg_rewind from pg-0 succeeded/,
    );
    expect(lastRun).not.toContain("starting as primary");
  });

  it("keeps taking writes when the standby pg-1 crashes (synchronous replication is released), and pg-1 streams again when restarted", async () => {
    expect(await isPrimary(0)).toBe(true);
    const [[maxBefore]] = await cluster.sql(cluster.pg(0), "SELECT max(n) FROM writes", "app");
    let n = Number(maxBefore);
    const crashedAt = Date.now();
    await docker(["kill", "--signal", "KILL", cluster.pg(1)]);
    // Commits wait for a standby until pgpool detaches pg-1 and its failover script clears
    // synchronous_standby_names on the primary; then they go through alone.
    const writableAt = await until(
      "a write acknowledged without a standby",
      async () => {
        const client = await viaPgpool("app", "app");
        try {
          await client.query("INSERT INTO writes (n) VALUES ($1)", [++n]);
          return Date.now();
        } finally {
          await client.end().catch(() => {});
        }
      },
      30_000,
    );
    console.log(
      `standby crash: writes resumed ${((writableAt - crashedAt) / 1000).toFixed(1)} s after it`,
    );
    expect(writableAt - crashedAt).toBeLessThan(15_000);
    expect((await poolNodes())[1].status).toBe("down");

    // Restarted, pg-1 is a standby again (case 3) and synchronous replication comes back.
    await cluster.start(cluster.pg(1));
    await cluster.waitHealthy(cluster.pg(1), 120_000);
    expect(await isPrimary(1)).toBe(false);
    await until(
      "pg-1 up in pgpool and synchronous again",
      async () => {
        const nodes = await poolNodes();
        const [[names]] = await cluster.sql(
          cluster.pg(0),
          "SELECT current_setting('synchronous_standby_names') = 'ANY 1 (pg_0, pg_1)'",
        );
        return (nodes.every((x) => x.status === "up") && names === "t") || undefined;
      },
      60_000,
    );
    const logs = await cluster.logs(cluster.pg(1));
    expect(logs.slice(logs.lastIndexOf("pg-entrypoint: node pg-1"))).toContain(
      "pg-entrypoint: case 3: data directory of a standby: starting as standby again",
    );
    const [[onStandby]] = await cluster.sql(
      cluster.pg(1),
      `SELECT count(*) FROM writes WHERE n = ${n}`,
      "app",
    );
    expect(onStandby).toBe("1");
  });

  it("comes back from a full stop with retained volumes (cases 6 and 3), and a primary restarted without pgpool waits, then stays primary (case 5)", async () => {
    expect(await isPrimary(0)).toBe(true);
    const [[rows]] = await cluster.sql(cluster.pg(0), "SELECT count(*) FROM writes", "app");
    // Like `pulumi destroy` with retainData, then `pulumi up`: stopped, then started in the
    // program's order, each healthy before the next.
    for (const c of [cluster.pgpool, cluster.pg(1), cluster.pg(0)]) await docker(["stop", c]);
    for (const c of [cluster.pg(0), cluster.pg(1), cluster.pgpool]) {
      await cluster.start(c);
      await cluster.waitHealthy(c, 120_000);
    }
    expect(await isPrimary(0)).toBe(true);
    expect(await isPrimary(1)).toBe(false);
    expect(lastRun(await cluster.logs(cluster.pg(0)), "pg-0")).toContain(
      "pg-entrypoint: case 6: this node was primary and pg-1 is unreachable",
    );
    expect(lastRun(await cluster.logs(cluster.pg(1)), "pg-1")).toContain("pg-entrypoint: case 3:");
    await until(
      "both up in pgpool",
      async () => (await poolNodes()).every((x) => x.status === "up") || undefined,
      30_000,
    );
    expect(await cluster.sql(cluster.pg(1), "SELECT count(*) FROM writes", "app")).toEqual([
      [rows],
    ]);

    // Without pgpool nobody promotes pg-1: a restarted pg-0 finds it a standby, waits
    // PG_FENCE_WAIT_SECONDS, and starts as primary again; pg-1 follows it.
    await docker(["stop", cluster.pgpool]);
    await docker(["stop", cluster.pg(0)]);
    await cluster.start(cluster.pg(0));
    await cluster.waitHealthy(cluster.pg(0), 120_000);
    expect(await isPrimary(0)).toBe(true);
    expect(await isPrimary(1)).toBe(false);
    expect(lastRun(await cluster.logs(cluster.pg(0)), "pg-0")).toContain(
      "pg-entrypoint: case 5: pg-1 is still not primary after 10 s: starting as primary",
    );
    await until(
      "pg-1 streaming from pg-0 again",
      async () => {
        const r = await cluster.sql(cluster.pg(0), "SELECT state FROM pg_stat_replication");
        return r[0]?.[0] === "streaming" || undefined;
      },
      30_000,
    );
    await cluster.start(cluster.pgpool);
    await cluster.waitHealthy(cluster.pgpool, 60_000);
  });
});

/** The log lines of the container's latest start. */
function lastRun(logs: string, node: string): string {
  return logs.slice(logs.lastIndexOf(`pg-entrypoint: node ${node},`));
}

async function restartCount(container: string): Promise<number> {
  return Number((await docker(["inspect", "-f", "{{.RestartCount}}", container])).trim());
}

/**
 * Crashes the primary `failed` with `crash` while a bounded writer inserts through pgpool and a
 * monitor polls both nodes, then checks: the other node is promoted within seconds, pgpool
 * routes writes to it, no acknowledged write is lost (synchronous replication), the crashed
 * node (started again by Docker or here) rejoins as a streaming standby and pgpool attaches it
 * again, synchronous replication is back on, and at no sample were both nodes writable.
 */
async function crashAndRecover(failed: 0 | 1, crash: () => Promise<void>): Promise<void> {
  const survivor = (1 - failed) as 0 | 1;
  const names = { failed: `pg-${failed}`, survivor: `pg-${survivor}` };
  expect(await isPrimary(failed)).toBe(true);
  expect(await isPrimary(survivor)).toBe(false);

  // Never two writable nodes, from before the crash until the crashed node has rejoined.
  const monitor = { stop: false, both: [] as number[], samples: 0 };
  const watching = (async () => {
    while (!monitor.stop) {
      const [a, b] = await Promise.all([isPrimary(0), isPrimary(1)]);
      monitor.samples++;
      if (a === true && b === true) monitor.both.push(Date.now());
      await sleep(100);
    }
  })();

  // A bounded writer through pgpool: one row per attempt, acknowledged rows remembered.
  const writer = { stop: false, acknowledged: [] as { n: number; at: number }[], failures: 0 };
  const [[maxBefore]] = await cluster.sql(
    cluster.pg(failed),
    "SELECT coalesce(max(n), 0) FROM writes",
    "app",
  );
  const writing = (async () => {
    const deadline = Date.now() + 120_000;
    let client: Client | undefined;
    for (let n = Number(maxBefore) + 1, i = 0; i < 20_000 && !writer.stop; n++, i++) {
      if (Date.now() > deadline) break;
      try {
        client ??= await viaPgpool("app", "app");
        await client.query("INSERT INTO writes (n) VALUES ($1)", [n]);
        writer.acknowledged.push({ n, at: Date.now() });
      } catch {
        writer.failures++;
        await client?.end().catch(() => {});
        client = undefined;
        await sleep(100);
      }
      await sleep(20);
    }
    await client?.end().catch(() => {});
  })();

  try {
    await until("writes flowing", async () => writer.acknowledged.length >= 20, 20_000);

    const killedAt = Date.now();
    await crash();

    const promotedAt = await until(
      `${names.survivor} promoted`,
      async () => ((await isPrimary(survivor)) ? Date.now() : undefined),
      30_000,
    );
    const poolSwitchedAt = await until(
      `pgpool routing to ${names.survivor} as primary`,
      async () => {
        const nodes = await poolNodes();
        return nodes[survivor].role === "primary" && nodes[survivor].status === "up"
          ? Date.now()
          : undefined;
      },
      30_000,
    );
    await until(
      "a write acknowledged after the switch",
      async () => writer.acknowledged.some((w) => w.at > poolSwitchedAt) || undefined,
      30_000,
    );
    // The interruption seen by a client: the longest gap between two acknowledged writes.
    const acks = writer.acknowledged.map((w) => w.at);
    const outage = Math.max(...acks.slice(1).map((at, i) => at - acks[i])) / 1000;
    console.log(
      `failover ${names.failed} -> ${names.survivor}: primary ${((promotedAt - killedAt) / 1000).toFixed(1)} s after the crash, ` +
        `pgpool switched at ${((poolSwitchedAt - killedAt) / 1000).toFixed(1)} s, ` +
        `writes through pgpool interrupted for ${outage.toFixed(1)} s (${writer.failures} failed attempts)`,
    );
    expect(promotedAt - killedAt).toBeLessThan(10_000);
    expect(outage).toBeLessThan(15);

    // The crashed node comes back (Docker's restart policy, or started here) and its
    // entrypoint makes it a standby of the new primary.
    const restartedAt = Date.now();
    const state = (await docker(["inspect", "-f", "{{.State.Status}}", cluster.pg(failed)])).trim();
    if (state !== "running" && state !== "restarting") await cluster.start(cluster.pg(failed));
    await cluster.waitHealthy(cluster.pg(failed), 120_000);
    const streamingAt = await until(
      `${names.failed} streaming from ${names.survivor}`,
      async () => {
        const rows = await cluster.sql(
          cluster.pg(survivor),
          `SELECT state FROM pg_stat_replication WHERE application_name = 'pg_${failed}'`,
        );
        return rows[0]?.[0] === "streaming" ? Date.now() : undefined;
      },
      60_000,
    );
    const attachedAt = await until(
      `pgpool re-attaching ${names.failed}`,
      async () => {
        const nodes = await poolNodes();
        return nodes.every((x) => x.status === "up") ? Date.now() : undefined;
      },
      60_000,
    );
    console.log(
      `rejoin of ${names.failed}: streaming from ${names.survivor} ${((streamingAt - restartedAt) / 1000).toFixed(1)} s after it was started, ` +
        `up in pgpool after ${((attachedAt - restartedAt) / 1000).toFixed(1)} s`,
    );
    expect(await isPrimary(failed)).toBe(false);
    const expected = [
      { host: "pg-0", status: "up", role: "standby" },
      { host: "pg-1", status: "up", role: "standby" },
    ];
    expected[survivor] = { ...expected[survivor], role: "primary" };
    expect(await poolNodes()).toEqual(expected);

    // Synchronous again now that a standby streams.
    await until(
      `synchronous_standby_names set again on ${names.survivor}`,
      async () => {
        const [[on]] = await cluster.sql(
          cluster.pg(survivor),
          "SELECT current_setting('synchronous_standby_names') = 'ANY 1 (pg_0, pg_1)'",
        );
        return on === "t" || undefined;
      },
      30_000,
    );

    // More writes on the new pair, then stop the writer.
    const countNow = writer.acknowledged.length;
    await until(
      "writes on the new primary",
      async () => writer.acknowledged.length >= countNow + 20,
      20_000,
    );
    writer.stop = true;
    await writing;

    // Every acknowledged row is on the new primary, and on the rejoined standby.
    for (const node of [survivor, failed]) {
      const stored = new Set(
        (await cluster.sql(cluster.pg(node), "SELECT n FROM writes", "app")).map(([n]) =>
          Number(n),
        ),
      );
      const lost = writer.acknowledged.filter((w) => !stored.has(w.n)).map((w) => w.n);
      console.log(
        `pg-${node}: ${writer.acknowledged.length} acknowledged writes, ${lost.length} missing`,
      );
      expect(lost).toEqual([]);
    }
    await cluster.waitHealthy(cluster.pgpool, 30_000);
  } finally {
    writer.stop = true;
    monitor.stop = true;
    await writing;
    await watching;
  }
  console.log(
    `two-primary monitor: ${monitor.samples} samples, ${monitor.both.length} with two primaries`,
  );
  expect(monitor.samples).toBeGreaterThan(20);
  expect(monitor.both).toEqual([]);
}

/** `docker <args>` with `input` on stdin; stdout + stderr, or an error carrying both. */
async function pipe(input: string, args: string[]): Promise<string> {
  const { spawn } = await import("node:child_process");
  return new Promise((resolve, reject) => {
    const child = spawn("docker", args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`)),
    );
    child.stdin.end(input);
  });
}
