// The whole program through the real Pulumi engine on the real Docker engine, proven through
// nginx on the published port: health, balancing, stickiness, the app's routes, replication
// through pgpool, chat across replicas, metrics, what the engine itself sees (no spurious diff,
// drift repaired by a refresh, a bad config refused by preview), and destroy/re-create with
// retained data.
import * as fs from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addressOn,
  docker,
  exec,
  logs,
  psql,
  publishedPorts,
  stackContainers,
} from "../../ops/docker";
import { chatSocket, nextMessage } from "../../ops/chat";
import { get } from "../../ops/http";
import { waitFor } from "../../ops/poll";
import { infoLoad, spread, upstreamNodes } from "../../ops/rollout";
import {
  downStack,
  previewStack,
  PROGRAM_DIR,
  StackError,
  upStack,
  type Stack,
} from "../../ops/stack";
import { clientNetworks, getFrom, removeClientNetworks } from "./support/clients";
import { stackPerFile } from "./support/stack-per-file";

const STACK = "e2e";
const CONFIG = {
  replicas: "3",
  httpPort: "18080",
  adminPort: "18081",
  collectorIntervalSeconds: "2",
};
let stack: Stack;

stackPerFile(
  STACK,
  { ...CONFIG, lbAlgorithm: "round_robin" },
  {
    onUp: (s) => {
      stack = s;
    },
    beforeDown: () => removeClientNetworks(STACK),
  },
);

const info = async (url = stack.url) => (await get(`${url}api/info`)).json();

describe("a fresh stack", () => {
  it("exports the URL, the replicas, the Adminer URL, the algorithm and the two secrets", () => {
    expect(stack.result.outputs).toMatchObject({
      url: "http://127.0.0.1:18080/",
      adminUrl: "http://127.0.0.1:18081/",
      lbAlgorithm: "round_robin",
    });
    // Container names carry a digest of what each runs (a new image starts a new container).
    const replicas = stack.result.outputs.replicas as string[];
    expect(replicas.map((name) => name.replace(/-[0-9a-f]{8}$/, ""))).toEqual([
      "ha-stack-e2e-app-0",
      "ha-stack-e2e-app-1",
      "ha-stack-e2e-app-2",
    ]);
    expect(stack.result.secretOutputs.sort()).toEqual(["adminToken", "appPassword"]);
  });

  it("has every container running and healthy", async () => {
    const containers = await stackContainers(STACK);
    expect(containers.map((c) => c.node).sort()).toEqual(
      [
        "adminer",
        "app-0",
        "app-1",
        "app-2",
        "backup",
        "collector",
        "nginx",
        "pg-0",
        "pg-1",
        "pgpool",
      ].sort(),
    );
    for (const c of containers) {
      expect({ node: c.node, state: c.state, health: c.health }).toEqual({
        node: c.node,
        state: "running",
        health: "healthy",
      });
    }
  });

  it("publishes only nginx and Adminer, on 127.0.0.1", async () => {
    expect(await publishedPorts(STACK)).toEqual([
      "adminer 8080/tcp 127.0.0.1:18081",
      "nginx 8080/tcp 127.0.0.1:18080",
    ]);
  });
});

describe("through nginx", () => {
  it("spreads 30 requests over all 3 replicas under round_robin", async () => {
    const seen: Record<string, number> = {};
    for (let i = 0; i < 30; i++) {
      const { hostname } = await info();
      seen[hostname] = (seen[hostname] ?? 0) + 1;
    }
    expect(Object.keys(seen).sort()).toEqual(["app-0", "app-1", "app-2"]);
    for (const count of Object.values(seen)) expect(count).toBeGreaterThanOrEqual(5);
  });

  it("looks users up: 200 with the key, 404 unknown, 400 malformed", async () => {
    const found = await get(`${stack.url}api/users/3`);
    expect(found.status).toBe(200);
    expect(found.json()).toMatchObject({ id: 3, key: expect.any(String) });
    expect((await get(`${stack.url}api/users/99`)).status).toBe(404);
    expect((await get(`${stack.url}api/users/abc`)).status).toBe(400);
    const page = await get(`${stack.url}?user_id=3`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(found.json().key);
    expect((await get(`${stack.url}?user_id=-1`)).status).toBe(400);
  });

  it("lists requests logged by one replica on another", async () => {
    const probe = `/api/users/1?probe=${randomUUID()}`;
    const first = await get(`${stack.url}${probe.slice(1)}`);
    expect(first.status).toBe(200);
    // Ask until a different replica answers; its list must hold the probe another one logged.
    const other = await waitFor("another replica listing the probe", async () => {
      const answer = await info();
      const logged = (answer.requests as { path: string; hostname: string }[]).find(
        (r) => r.path === probe,
      );
      return logged !== undefined && logged.hostname !== answer.hostname ? answer : undefined;
    });
    expect(other.hostname).toMatch(/^app-[0-2]$/);
  });

  it("answers reads from the standby through pgpool", async () => {
    for (let i = 0; i < 6; i++) expect((await info()).dbRole).toBe("standby");
  });
});

describe("the database tier", () => {
  it("ran the migrations exactly once, on the leader", async () => {
    const shipped = fs
      .readdirSync(path.join(PROGRAM_DIR, "app/migrations"))
      .map((f) => f.replace(/\.[a-z]+$/, ""))
      .sort();
    const applied = await psql(
      stack.container("pg-0"),
      "SELECT name FROM pgmigrations ORDER BY name",
    );
    expect(applied.map((r) => r[0])).toEqual(shipped);
    expect(await logs(stack.container("app-0"))).toMatch(
      /migrations applied|schema already current/,
    );
    for (const follower of ["app-1", "app-2"]) {
      expect(await logs(stack.container(follower))).not.toMatch(/migrations applied/);
    }
  });

  it("streams from pg-0 to pg-1 through the replication slot", async () => {
    const rows = await psql(
      stack.container("pg-0"),
      "SELECT r.application_name, r.state, s.active FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid",
    );
    expect(rows).toEqual([["pg_1", "streaming", "t"]]);
    expect(await psql(stack.container("pg-1"), "SELECT pg_is_in_recovery()")).toEqual([["t"]]);
    expect(await psql(stack.container("pg-0"), "SELECT pg_is_in_recovery()")).toEqual([["f"]]);
  });

  it("has pgpool report both nodes up, pg-0 primary and pg-1 standby", async () => {
    const out = await exec(stack.container("pgpool"), [
      "bash",
      "-c",
      "PGPASSWORD=$(cat /run/secrets/pgpool-password) psql -h 127.0.0.1 -p 9999 -U pgpool -d postgres -AtX -F ' ' -c 'SHOW pool_nodes' | awk '{print $2, $4, $7}'",
    ]);
    expect(out.trim().split("\n").sort()).toEqual(["pg-0 up primary", "pg-1 up standby"]);
  });

  it("has the collector writing host metrics", async () => {
    const count = async () =>
      Number((await psql(stack.container("pg-0"), "SELECT count(*) FROM metrics"))[0][0]);
    const before = await count();
    await waitFor(
      "a new metrics row",
      async () => ((await count()) > before ? true : undefined),
      15_000,
    );
  });
});

describe("chat", () => {
  const sockets: Socket[] = [];
  afterAll(() => sockets.forEach((s) => s.close()));

  const join = async (node: string): Promise<Socket> => {
    const address = await addressOn(stack.container(node), "-frontend");
    const socket = await chatSocket(`http://${address}:3000`);
    sockets.push(socket);
    return socket;
  };
  const next = nextMessage;

  it("carries a message sent on one replica to a client on another, both ways", async () => {
    const [a, b] = [await join("app-1"), await join("app-2")];
    const atB = next(b, "hello from app-1");
    a.emit("chat message", { name: "e2e", text: "hello from app-1" });
    expect(await atB).toMatchObject({ text: "hello from app-1", hostname: "app-1" });
    const atA = next(a, "hello from app-2");
    b.emit("chat message", { name: "e2e", text: "hello from app-2" });
    expect(await atA).toMatchObject({ text: "hello from app-2", hostname: "app-2" });
  });

  it("works through nginx with the websocket transport", async () => {
    const socket = await chatSocket(stack.url);
    sockets.push(socket);
    const echo = next(socket, "through nginx");
    socket.emit("chat message", { text: "through nginx" });
    expect((await echo).text).toBe("through nginx");
  });
});

describe("the Pulumi engine", () => {
  it("previews no change right after an up (uploads, durations, image tags, secrets all stable)", async () => {
    const preview = await previewStack(STACK, { expectNoChanges: true });
    expect(preview.changed).toEqual([]);
    expect(Object.keys(preview.changes)).toEqual(["same"]);
  });

  it("recreates a replica removed behind its back on `up --refresh`, and no request fails", async () => {
    const gone = stack.container("app-1");
    const before = (await docker.getContainer(gone).inspect()).Id;
    const load = infoLoad(stack.url);
    await docker.getContainer(gone).remove({ force: true });
    const refreshed = await upStack(STACK, { ...CONFIG, lbAlgorithm: "round_robin" }, PROGRAM_DIR, {
      refresh: true,
    });
    const report = await load.stop();
    const app1 = refreshed.result.steps.filter((s) => s.urn.endsWith("::app-app-1"));
    expect(app1.map((s) => s.op)).toContain("create");
    const after = await docker.getContainer(refreshed.container("app-1")).inspect();
    expect(after.Id).not.toBe(before);
    expect(after.State.Health?.Status).toBe("healthy");
    expect(await upstreamNodes(STACK, stack.container("nginx"))).toEqual([
      "app-0",
      "app-1",
      "app-2",
    ]);
    expect(report.failures).toEqual([]);
    expect(report.ok).toBeGreaterThan(20);
    expect(Object.keys(spread(report)).sort()).toContain("app-0");
    stack = refreshed;
  });

  it("refuses a bad config at preview with the README's message, and changes nothing", async () => {
    const error = await previewStack(STACK, {
      config: { ...CONFIG, replicas: "0", lbAlgorithm: "fastest" },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackError);
    const message = (error as Error).message;
    expect(message).toContain(`ha-stack:replicas is "0"; allowed: a whole number from 1 to 32`);
    expect(message).toContain(
      `ha-stack:lbAlgorithm is "fastest"; allowed: round_robin, least_conn, ip_hash, consistent_hash`,
    );
    // The stack still runs as it was, and a preview with its config finds nothing to do.
    const preview = await previewStack(STACK, {
      config: { ...CONFIG, lbAlgorithm: "round_robin" },
      expectNoChanges: true,
    });
    expect(preview.changed).toEqual([]);
  });
});

describe.each(["ip_hash", "consistent_hash"])("under %s", (algorithm) => {
  let nginxId: string;
  beforeAll(async () => {
    nginxId = (await docker.getContainer(stack.container("nginx")).inspect()).Id;
    stack = await upStack(STACK, { ...CONFIG, lbAlgorithm: algorithm });
  });

  it("reloads nginx in place instead of replacing it", async () => {
    const inspect = await docker.getContainer(stack.container("nginx")).inspect();
    expect(inspect.Id).toBe(nginxId);
    expect(await logs(stack.container("nginx"))).toContain("reloaded nginx");
  });

  it("keeps each client on one replica and spreads clients from distinct subnets", async () => {
    await removeClientNetworks(STACK);
    const clients = await clientNetworks(STACK, stack.container("nginx"), 8);
    const replicaOf: Record<string, string> = {};
    for (const client of clients) {
      const seen = new Set<string>();
      for (let i = 0; i < 5; i++) seen.add(JSON.parse(await getFrom(client, "/api/info")).hostname);
      expect([...seen], `client ${client.address}`).toHaveLength(1);
      replicaOf[client.address] = [...seen][0];
    }
    expect(new Set(Object.values(replicaOf)).size).toBeGreaterThanOrEqual(2);
    await removeClientNetworks(STACK);
  });
});

describe("destroy and re-create", () => {
  it("leaves no container or network, keeps the volumes, and a second up finds the old rows", async () => {
    const marker = `/api/users/2?marker=${randomUUID()}`;
    expect((await get(`${stack.url}${marker.slice(1)}`)).status).toBe(200);
    await waitFor("the marker on the standby", async () => {
      const rows = await psql(
        stack.container("pg-1"),
        `SELECT 1 FROM requests WHERE path = '${marker}'`,
      );
      return rows.length === 1 ? true : undefined;
    });

    await downStack(STACK);
    const filter = { label: [`ha-stack.stack=${STACK}`] };
    expect(await docker.listContainers({ all: true, filters: filter })).toEqual([]);
    expect(await docker.listNetworks({ filters: filter })).toEqual([]);
    const volumes = (await docker.listVolumes({ filters: filter })).Volumes.map((v) => v.Name);
    // The data volumes (retainData) and the backup repository (retainBackups).
    expect(volumes.sort()).toEqual([
      "ha-stack-e2e-backups",
      "ha-stack-e2e-pg-0-data",
      "ha-stack-e2e-pg-1-data",
    ]);

    stack = await upStack(STACK, { ...CONFIG, lbAlgorithm: "round_robin" });
    const rows = await psql(
      stack.container("pg-0"),
      `SELECT count(*) FROM requests WHERE path = '${marker}'`,
    );
    expect(rows).toEqual([["1"]]);
    expect((await info()).dbRole).toBe("standby");
  });

  it("removes the volumes too when retainData and retainBackups are false", async () => {
    await upStack(STACK, { ...CONFIG, retainData: "false", retainBackups: "false" });
    await downStack(STACK);
    const filter = { label: [`ha-stack.stack=${STACK}`] };
    expect((await docker.listVolumes({ filters: filter })).Volumes).toEqual([]);
  });
});
