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

  it("promotes pg-1 within seconds when the primary crashes, losing no acknowledged write, and takes pg-0 back as a standby", async () => {
    // Never two writable nodes, from before the crash until pg-0 has rejoined.
    const monitor = { stop: false, both: [] as number[], samples: 0 };
    const watching = (async () => {
      while (!monitor.stop) {
        const [a, b] = await Promise.all([isPrimary(0), isPrimary(1)]);
        monitor.samples++;
        if (a === true && b === true) monitor.both.push(Date.now());
        await sleep(200);
      }
    })();

    // A bounded writer through pgpool: one row per attempt, acknowledged rows remembered.
    const writer = { stop: false, acknowledged: [] as { n: number; at: number }[], failures: 0 };
    const writing = (async () => {
      const deadline = Date.now() + 120_000;
      let client: Client | undefined;
      for (let n = 1; n <= 20_000 && !writer.stop && Date.now() < deadline; n++) {
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

      // Crash: SIGKILL to the container's init takes postgres down with it, no shutdown.
      const killedAt = Date.now();
      await docker(["kill", "--signal", "KILL", cluster.pg(0)]);

      const promotedAt = await until(
        "pg-1 promoted",
        async () => ((await isPrimary(1)) ? Date.now() : undefined),
        30_000,
      );
      const poolSwitchedAt = await until(
        "pgpool routing to pg-1 as primary",
        async () => {
          const nodes = await poolNodes();
          return nodes[1].role === "primary" && nodes[1].status === "up" ? Date.now() : undefined;
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
        `failover: pg-1 primary ${((promotedAt - killedAt) / 1000).toFixed(1)} s after the kill, ` +
          `pgpool switched at ${((poolSwitchedAt - killedAt) / 1000).toFixed(1)} s, ` +
          `writes through pgpool interrupted for ${outage.toFixed(1)} s (${writer.failures} failed attempts)`,
      );
      expect(promotedAt - killedAt).toBeLessThan(10_000);
      expect(outage).toBeLessThan(15);

      // Keep writing on the new primary for a moment, then stop the writer.
      const countAfter = writer.acknowledged.length;
      await until(
        "more writes on pg-1",
        async () => writer.acknowledged.length >= countAfter + 20,
        20_000,
      );
      writer.stop = true;
      await writing;

      // Synchronous replication: every acknowledged row is on the new primary.
      const stored = new Set(
        (await cluster.sql(cluster.pg(1), "SELECT n FROM writes", "app")).map(([n]) => Number(n)),
      );
      const lost = writer.acknowledged.filter((w) => !stored.has(w.n)).map((w) => w.n);
      console.log(`writer: ${writer.acknowledged.length} acknowledged, ${lost.length} lost`);
      expect(lost).toEqual([]);
      // The promoted node, alone, does not wait for a standby.
      expect(
        await cluster.sql(
          cluster.pg(1),
          "SELECT current_setting('synchronous_standby_names') = ''",
        ),
      ).toEqual([["t"]]);

      // The old primary comes back: its entrypoint sees pg-1 primary and rejoins as standby.
      const restartedAt = Date.now();
      await cluster.start(cluster.pg(0));
      await cluster.waitHealthy(cluster.pg(0), 120_000);
      const streamingAt = await until(
        "pg-0 streaming from pg-1",
        async () => {
          const rows = await cluster.sql(
            cluster.pg(1),
            "SELECT state FROM pg_stat_replication WHERE application_name = 'pg_0'",
          );
          return rows[0]?.[0] === "streaming" ? Date.now() : undefined;
        },
        60_000,
      );
      const attachedAt = await until(
        "pgpool re-attaching pg-0",
        async () => {
          const nodes = await poolNodes();
          return nodes.every((x) => x.status === "up") ? Date.now() : undefined;
        },
        60_000,
      );
      console.log(
        `rejoin: pg-0 streaming from pg-1 ${((streamingAt - restartedAt) / 1000).toFixed(1)} s after its restart, ` +
          `up in pgpool after ${((attachedAt - restartedAt) / 1000).toFixed(1)} s`,
      );

      expect(await isPrimary(0)).toBe(false);
      expect(await poolNodes()).toEqual([
        { host: "pg-0", status: "up", role: "standby" },
        { host: "pg-1", status: "up", role: "primary" },
      ]);
      expect(await cluster.logs(cluster.pg(0))).toMatch(
        /pg-entrypoint: case 4: .*\n(.*\n)*pg-entrypoint: pg_rewind from pg-1 succeeded/,
      );
      // Synchronous again now that a standby streams, and the rejoined node has every row.
      await until(
        "synchronous_standby_names set again on pg-1",
        async () => {
          const [[names]] = await cluster.sql(cluster.pg(1), "SHOW synchronous_standby_names");
          return names === "ANY 1 (pg_0, pg_1)" || undefined;
        },
        30_000,
      );
      const [[onStandby]] = await cluster.sql(cluster.pg(0), "SELECT count(*) FROM writes", "app");
      expect(Number(onStandby)).toBeGreaterThanOrEqual(writer.acknowledged.length);
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
  });
});

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
