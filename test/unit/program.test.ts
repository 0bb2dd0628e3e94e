import { spawn } from "node:child_process";
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { Adminer } from "../../components/adminer";
import { AppTier } from "../../components/app";
import { Collector } from "../../components/collector";
import { Pgpool } from "../../components/pgpool";
import {
  COMMAND,
  CONTAINER,
  construct,
  container,
  dependsOnNodes,
  IMAGE,
  PUSH,
  mockPassword,
  NETWORK,
  ofType,
  PASSWORD,
  runProgram,
  VOLUME,
  type ProgramRun,
} from "./harness";

beforeEach(() => vi.resetModules());

const apps = (n: number) => Array.from({ length: n }, (_, i) => `app-${i}`);
/** The logical names of what `from` waits for (dependsOn and inputs), sorted. */
const dependencyNames = (run: ProgramRun, from: { dependencies: string[] }) =>
  from.dependencies.map((urn) => run.registrations.find((r) => r.urn === urn)?.name ?? urn).sort();
const commandNamed = (run: ProgramRun, name: string) => {
  const found = ofType(run, COMMAND).find((c) => c.name === name);
  if (found === undefined) throw new Error(`no command ${name}`);
  return found;
};
const networksOf = (run: ProgramRun, node: string) =>
  (container(run, node).inputs.networksAdvanced as { name: string; aliases: string[] }[])
    .map((n) => n.name)
    .sort();

describe.each([1, 3, 32])("with replicas = %i", (replicas) => {
  it("declares the whole stack, once", async () => {
    const run = await runProgram({ replicas: String(replicas), maxReplicas: "32" });
    const hostnames = ofType(run, CONTAINER).map((c) => c.inputs.hostname);
    expect(hostnames.sort()).toEqual(
      [
        "pg-0",
        "pg-1",
        "pgpool",
        "nginx",
        "collector",
        "adminer",
        "backup",
        ...apps(replicas),
      ].sort(),
    );
    expect(ofType(run, NETWORK)).toHaveLength(3);
    // Two data volumes and the backup repository.
    expect(ofType(run, VOLUME)).toHaveLength(3);
    expect(ofType(run, IMAGE)).toHaveLength(5);
    // Four database passwords and the admin token.
    expect(ofType(run, PASSWORD)).toHaveLength(5);
  });

  it("orders every container by dependsOn", async () => {
    const run = await runProgram({ replicas: String(replicas), maxReplicas: "32" });
    expect(dependsOnNodes(run, "pg-0")).toEqual([]);
    expect(dependsOnNodes(run, "pg-1")).toEqual(["pg-0"]);
    expect(dependsOnNodes(run, "pgpool")).toEqual(["pg-0", "pg-1"]);
    expect(dependsOnNodes(run, "app-0")).toEqual(["pgpool"]);
    // Every follower waits for the leader only: they all start at once.
    for (let i = 1; i < replicas; i++) {
      expect(dependsOnNodes(run, `app-${i}`)).toEqual(["app-0"]);
    }
    expect(dependsOnNodes(run, "nginx")).toEqual(apps(replicas).sort());
    expect(dependsOnNodes(run, "collector")).toEqual(["app-0", "pgpool"]);
    expect(dependsOnNodes(run, "adminer")).toEqual(["pgpool"]);
    // The backup container mounts both nodes' volumes and needs the primary for its stanza.
    expect(dependsOnNodes(run, "backup")).toEqual(["pg-0", "pg-1"]);
    const push = commandNamed(run, "lb-nginx-config");
    expect(dependsOnNodes(run, push)).toEqual([...apps(replicas), "nginx"].sort());
    // The push runs after the roll's last handover (default batch 1: one per replica).
    expect(dependencyNames(run, push)).toContain(`app-handover-${replicas - 1}`);
  });
});

describe("scaling", () => {
  beforeEach(() => vi.resetModules());

  it("leaves the database tier untouched when replicas changes within maxReplicas", async () => {
    const one = await runProgram({ replicas: "1", maxReplicas: "32" });
    vi.resetModules();
    const many = await runProgram({ replicas: "32", maxReplicas: "32" });
    for (const node of ["pg-0", "pg-1", "pgpool"]) {
      expect(container(many, node).inputs, node).toEqual(container(one, node).inputs);
    }
  });

  it("restarts only pgpool when maxReplicas changes: PostgreSQL's max_connections stays", async () => {
    const small = await runProgram({ replicas: "2", maxReplicas: "2" });
    vi.resetModules();
    const large = await runProgram({ replicas: "2", maxReplicas: "32" });
    for (const node of ["pg-0", "pg-1"]) {
      expect(container(large, node).inputs, node).toEqual(container(small, node).inputs);
    }
    expect(container(large, "pgpool").inputs).not.toEqual(container(small, "pgpool").inputs);
  });
});

describe("rolloutBatch", () => {
  beforeEach(() => vi.resetModules());

  it("rolls the leader alone, then the followers a batch at a time, each batch after the previous handover", async () => {
    const run = await runProgram({ replicas: "6", rolloutBatch: "2" });
    const batches = [["app-0"], ["app-1", "app-2"], ["app-3", "app-4"], ["app-5"]];
    expect(ofType(run, COMMAND).map((c) => c.name)).toEqual([
      "app-handover-0",
      "app-handover-1",
      "app-handover-2",
      "app-handover-3",
      "lb-nginx-config",
    ]);
    batches.forEach((nodes, k) => {
      const handover = commandNamed(run, `app-handover-${k}`);
      // A handover waits for its batch only (and, through it, for the previous handover).
      expect(dependencyNames(run, handover)).toEqual(nodes.map((n) => `app-${n}`));
      expect(handover.inputs.create).toBe("bash scripts/app-handover.sh");
      expect(handover.inputs.environment).toEqual({
        STACK: "unit",
        NODES: nodes.join(" "),
        KEEP: nodes.map((n) => container(run, n).inputs.name).join(" "),
        NGINX: "ha-stack-unit-nginx",
        UPSTREAM_SUFFIX: "3000 max_fails=1 fail_timeout=2s",
        STOP_SECONDS: "15",
      });
      // Runs again whenever one of its containers is replaced.
      expect(handover.inputs.triggers).toEqual(nodes.map((n) => `app-${n}-id`));
      for (const node of nodes) {
        const after = k === 0 ? ["db-pgpool"] : ["app-app-0", `app-handover-${k - 1}`];
        expect(dependencyNames(run, container(run, node)), node).toEqual(
          expect.arrayContaining(after),
        );
        expect(
          dependencyNames(run, container(run, node)).filter((d) => d.includes("handover")),
          node,
        ).toEqual(k === 0 ? [] : [`app-handover-${k - 1}`]);
      }
    });
  });

  it("takes every follower in one batch when the batch covers them all", async () => {
    const run = await runProgram({ replicas: "4", rolloutBatch: "32" });
    expect(commandNamed(run, "app-handover-1").inputs.environment.NODES).toBe("app-1 app-2 app-3");
    expect(ofType(run, COMMAND)).toHaveLength(3);
  });

  it("does not change what the containers run, only their order", async () => {
    const one = await runProgram({ replicas: "3", rolloutBatch: "1" });
    vi.resetModules();
    const three = await runProgram({ replicas: "3", rolloutBatch: "3" });
    for (const node of apps(3)) {
      expect(container(three, node).inputs).toEqual(container(one, node).inputs);
    }
  });
});

describe("every container", () => {
  it("has a healthcheck that creation waits for, a restart policy, a memory limit, labels and the stack prefix", async () => {
    const run = await runProgram({ replicas: "2" }, "staging");
    const containers = ofType(run, CONTAINER);
    expect(containers).toHaveLength(9);
    for (const c of containers) {
      const node = c.inputs.hostname;
      // App containers: a suffix per generation, so a replacement can start next to the old one.
      expect(c.inputs.name, node).toMatch(
        node.startsWith("app-")
          ? new RegExp(`^ha-stack-staging-${node}-[0-9a-f]{8}$`)
          : new RegExp(`^ha-stack-staging-${node}$`),
      );
      expect(c.inputs.healthcheck.tests[0], node).toBe("CMD");
      expect(c.inputs.healthcheck.tests.length, node).toBeGreaterThan(1);
      expect(c.inputs.healthcheck.interval, node).toMatch(/^[0-9]+s$/);
      expect(c.inputs.wait, node).toBe(true);
      expect(c.inputs.restart, node).toBe("unless-stopped");
      expect(c.inputs.memory, node).toBeGreaterThan(0);
      expect(c.inputs.init, node).toBe(true);
      // Deletes and replaces stop gracefully (the provider would SIGKILL otherwise).
      expect(c.inputs.destroyGraceSeconds, node).toBe(c.inputs.stopTimeout);
      expect(["postgres", "app", "www-data"], node).toContain(c.inputs.user);
      expect(c.inputs.labels, node).toEqual(
        expect.arrayContaining([
          { label: "ha-stack.stack", value: "staging" },
          { label: "ha-stack.role", value: expect.any(String) },
          { label: "ha-stack.node", value: node },
        ]),
      );
      // A fixed name cannot be held by two containers: the old one must go first. App
      // containers are replaced start-first (explicit false overrides the provider).
      expect(c.deleteBeforeReplace, node).toBe(!node.startsWith("app-"));
    }
  });

  it("gets its image from the stack's own builds, FROM the configured base image", async () => {
    const run = await runProgram({ baseImage: "ha-stack-base:trixie" });
    expect(ofType(run, PUSH)).toEqual([]);
    for (const image of ofType(run, IMAGE)) {
      expect(image.inputs.keepLocally).toBe(true);
      expect(image.inputs.build.buildArgs).toEqual({ BASE_IMAGE: "ha-stack-base:trixie" });
      expect(image.inputs.name).toMatch(
        /^ha-stack-unit-(postgres|pgpool|app|nginx|adminer):[0-9a-f]{16}$/,
      );
    }
    const imageNames = ofType(run, IMAGE).map((i) => i.inputs.name);
    for (const c of ofType(run, CONTAINER)) expect(imageNames).toContain(c.inputs.image);
  });

  it("changes image tags when the base image changes, and only then", async () => {
    const tags = async (baseImage: string) => {
      vi.resetModules();
      const run = await runProgram({ baseImage });
      return ofType(run, IMAGE).map((i) => i.inputs.name as string);
    };
    const a = await tags("debian:trixie-slim");
    expect(await tags("debian:trixie-slim")).toEqual(a);
    const b = await tags("ha-stack-base:trixie");
    for (let i = 0; i < a.length; i++) expect(b[i]).not.toBe(a[i]);
  });
});

describe("networks", () => {
  it("keeps the database off the frontend network, and the backend internal", async () => {
    const run = await runProgram({ replicas: "3" });
    const [frontend, backend, admin] = ["frontend", "backend", "admin"].map(
      (n) => `ha-stack-unit-${n}`,
    );
    const byName = Object.fromEntries(ofType(run, NETWORK).map((n) => [n.inputs.name, n]));
    expect(byName[backend].inputs.internal).toBe(true);
    expect(byName[frontend].inputs.internal).toBe(false);
    // Adminer's own network, only to publish its port: nothing else joins it.
    expect(byName[admin].inputs.internal).toBe(false);
    expect(networksOf(run, "adminer")).toEqual([admin, backend]);
    for (const c of ofType(run, CONTAINER).filter((c) => c.inputs.hostname !== "adminer")) {
      expect(networksOf(run, c.inputs.hostname), c.inputs.hostname).not.toContain(admin);
    }
    for (const node of ["pg-0", "pg-1", "pgpool", "collector"]) {
      expect(networksOf(run, node), node).toEqual([backend]);
    }
    for (const node of apps(3)) expect(networksOf(run, node), node).toEqual([backend, frontend]);
    expect(networksOf(run, "nginx")).toEqual([frontend]);
    for (const n of ofType(run, NETWORK)) expect(n.deleteBeforeReplace).toBe(true);
  });

  it("gives every container its short name as an alias", async () => {
    const run = await runProgram({ replicas: "2" });
    for (const c of ofType(run, CONTAINER)) {
      for (const network of c.inputs.networksAdvanced) {
        expect(network.aliases).toEqual([c.inputs.hostname]);
      }
    }
  });
});

describe("host ports", () => {
  const publishedNodes = (run: ProgramRun) =>
    ofType(run, CONTAINER)
      .filter((c) => (c.inputs.ports ?? []).length > 0)
      .map((c) => c.inputs.hostname as string)
      .sort();

  it("publishes nginx on listenAddress:httpPort and Adminer on listenAddress:adminPort, nothing else", async () => {
    const run = await runProgram({
      httpPort: "18080",
      adminPort: "18081",
      listenAddress: "127.0.0.2",
    });
    expect(publishedNodes(run)).toEqual(["adminer", "nginx"]);
    expect(container(run, "nginx").inputs.ports).toEqual([
      { internal: 8080, external: 18080, ip: "127.0.0.2", protocol: "tcp" },
    ]);
    expect(container(run, "adminer").inputs.ports).toEqual([
      { internal: 8080, external: 18081, ip: "127.0.0.2", protocol: "tcp" },
    ]);
    expect(run.outputs.adminUrl).toBe("http://127.0.0.2:18081/");
  });

  it("publishes only nginx when adminUi is false", async () => {
    const run = await runProgram({ adminUi: "false", listenAddress: "127.0.0.2" });
    expect(publishedNodes(run)).toEqual(["nginx"]);
  });

  it("publishes pgpool through its own non-internal network when pgpoolPort is set", async () => {
    const run = await runProgram({ pgpoolPort: "15432" });
    expect(container(run, "pgpool").inputs.ports).toEqual([
      { internal: 9999, external: 15432, ip: "127.0.0.1", protocol: "tcp" },
    ]);
    expect(networksOf(run, "pgpool")).toEqual(["ha-stack-unit-backend", "ha-stack-unit-dbaccess"]);
    const dbaccess = ofType(run, NETWORK).find((n) => n.inputs.name === "ha-stack-unit-dbaccess");
    expect(dbaccess?.inputs.internal).toBe(false);
    expect(run.outputs.pgpoolEndpoint).toBe("127.0.0.1:15432");
  });

  it.each([
    ["127.0.0.2", "127.0.0.2:15432"],
    ["0.0.0.0", "0.0.0.0:15432"],
    ["::1", "[::1]:15432"],
  ])("binds pgpool's host port to listenAddress %s, as nginx's", async (address, endpoint) => {
    const run = await runProgram({ pgpoolPort: "15432", listenAddress: address });
    expect(container(run, "pgpool").inputs.ports).toEqual([
      { internal: 9999, external: 15432, ip: address, protocol: "tcp" },
    ]);
    expect(container(run, "nginx").inputs.ports[0].ip).toBe(address);
    expect(container(run, "adminer").inputs.ports[0].ip).toBe(address);
    expect(run.outputs.pgpoolEndpoint).toBe(endpoint);
  });

  it("publishes nothing of pgpool, and makes no dbaccess network, without pgpoolPort", async () => {
    const run = await runProgram({ listenAddress: "127.0.0.2" });
    expect(container(run, "pgpool").inputs.ports).toBeUndefined();
    expect(networksOf(run, "pgpool")).toEqual(["ha-stack-unit-backend"]);
    expect(ofType(run, NETWORK).map((n) => n.inputs.name)).not.toContain("ha-stack-unit-dbaccess");
    expect(run.outputs.pgpoolEndpoint).toBeUndefined();
  });
});

describe("data and secrets", () => {
  it.each([
    ["true", true],
    ["false", false],
  ])("retainData=%s keeps the volumes on destroy: %s", async (retainData, retained) => {
    const run = await runProgram({ retainData });
    const data = ofType(run, VOLUME).filter((v) => v.inputs.name.endsWith("-data"));
    expect(data).toHaveLength(2);
    for (const volume of data) expect(volume.retainOnDelete).toBe(retained);
    const mounts = ["pg-0", "pg-1"].map((node) => container(run, node).inputs.volumes[0]);
    expect(mounts).toEqual([
      { volumeName: "ha-stack-unit-pg-0-data", containerPath: "/var/lib/postgresql/pg-0" },
      { volumeName: "ha-stack-unit-pg-1-data", containerPath: "/var/lib/postgresql/pg-1" },
    ]);
  });

  it("hands passwords over as files, never as environment variables", async () => {
    const run = await runProgram({});
    const passwords = ofType(run, PASSWORD).map((p) => mockPassword(p.name, p.inputs.length));
    // The admin token too.
    expect(passwords).toHaveLength(5);
    for (const c of ofType(run, CONTAINER)) {
      const env = (c.inputs.envs ?? []).join("\n");
      expect(env, c.inputs.hostname).not.toMatch(/PASSWORD=/);
      for (const password of passwords) expect(env, c.inputs.hostname).not.toContain(password);
    }
  });

  it("hands each container exactly the password files it needs, each with its own password", async () => {
    const run = await runProgram({ replicas: "2" });
    const handed = Object.fromEntries(
      ofType(run, CONTAINER).map((c) => [
        c.inputs.hostname,
        Object.fromEntries(
          ((c.inputs.uploads ?? []) as { file: string; content: string }[])
            .filter((u) => u.file.startsWith("/run/secrets/"))
            .map((u) => [u.file, u.content]),
        ),
      ]),
    );
    const file = (password: string) => [
      `/run/secrets/${password}-password`,
      mockPassword(`secrets-${password}`),
    ];
    const all = Object.fromEntries(["postgres", "replication", "app", "pgpool"].map(file));
    const token = ["/run/secrets/admin-token", mockPassword("secrets-admin-token", 40)];
    expect(handed).toEqual({
      // PostgreSQL creates every role at initdb; the standby replicates with its own role.
      "pg-0": all,
      "pg-1": all,
      // pgpool's own health/streaming checks and failover run as the pgpool role; its
      // pool_passwd holds app and postgres. It never replicates.
      pgpool: Object.fromEntries(["postgres", "app", "pgpool"].map(file)),
      // Replicas also get the admin token their write API checks; the collector writes no API.
      "app-0": Object.fromEntries([file("app"), token]),
      "app-1": Object.fromEntries([file("app"), token]),
      collector: Object.fromEntries([file("app")]),
      nginx: {},
      // Adminer holds no credentials: whoever logs in brings them.
      adminer: {},
      // The backup container logs in as the postgres OS user over the nodes' sockets (peer).
      backup: {},
    });
  });

  it("keeps every password secret in state and outputs", async () => {
    const run = await runProgram({});
    for (const password of ofType(run, PASSWORD)) {
      expect(password.inputs.length).toBeGreaterThanOrEqual(32);
    }
    expect(run.secretOutputs.sort()).toEqual(["adminToken", "appPassword"]);
    for (const c of ofType(run, CONTAINER)) {
      const carriesPassword = (c.inputs.uploads ?? []).some((u: { file: string }) =>
        u.file.startsWith("/run/secrets/"),
      );
      expect(c.secretInputs.includes("uploads"), c.inputs.hostname).toBe(carriesPassword);
    }
    for (const password of ofType(run, PASSWORD)) expect(password.secretInputs).toEqual([]);
  });
});

describe("collector", () => {
  it("is absent when collectorIntervalSeconds is 0", async () => {
    const run = await runProgram({ collectorIntervalSeconds: "0" });
    expect(ofType(run, CONTAINER).map((c) => c.inputs.hostname)).not.toContain("collector");
  });

  it("samples at the configured interval", async () => {
    const run = await runProgram({ collectorIntervalSeconds: "7" });
    expect(container(run, "collector").inputs.envs).toContain("COLLECTOR_INTERVAL_SECONDS=7");
    expect(container(run, "collector").inputs.command).toEqual(["node", "dist/collector.js"]);
  });
});

describe("app tier", () => {
  it("makes app-0 the only migration leader", async () => {
    const run = await runProgram({ replicas: "4" });
    const roles = apps(4).map((node) =>
      (container(run, node).inputs.envs as string[]).find((e) => e.startsWith("APP_ROLE=")),
    );
    expect(roles).toEqual([
      "APP_ROLE=leader",
      "APP_ROLE=follower",
      "APP_ROLE=follower",
      "APP_ROLE=follower",
    ]);
  });

  it("renders one nginx upstream per replica with the configured algorithm", async () => {
    const run = await runProgram({ replicas: "5", lbAlgorithm: "ip_hash" });
    const uploads = container(run, "nginx").inputs.uploads as { file: string; content: string }[];
    const upstreams = uploads.find((u) => u.file === "/etc/ha-stack/upstreams")!.content;
    expect(
      upstreams
        .trim()
        .split("\n")
        .map((line) => line.split(" ")[0]),
    ).toEqual(apps(5).map((node) => container(run, node).inputs.name));
    const conf = uploads.find((u) => u.file === "/etc/ha-stack/nginx.conf")!.content;
    expect(conf).toMatch(/^\s*ip_hash;/m);
  });
});

describe("nginx config changes", () => {
  it("reach the running nginx instead of replacing it", async () => {
    const run = await runProgram({ replicas: "3", lbAlgorithm: "least_conn" });
    expect(container(run, "nginx").ignoreChanges).toEqual(["uploads"]);
    const push = commandNamed(run, "lb-nginx-config");
    expect(push.inputs.create).toBe("bash scripts/nginx-push-config.sh");
    expect(push.inputs.environment.CONTAINER).toBe("ha-stack-unit-nginx");
    expect(push.inputs.environment.NGINX_CONF).toMatch(/^\s*least_conn;/m);
    expect(push.inputs.environment.UPSTREAMS.trim().split("\n")).toHaveLength(3);
    // Rerun whenever the config or the container changes.
    expect(push.inputs.triggers).toEqual([
      "lb-nginx-id",
      push.inputs.environment.NGINX_CONF,
      push.inputs.environment.UPSTREAMS,
    ]);
  });
});

describe("stack outputs", () => {
  it("exports the URL, the replica names, the pgpool endpoint (none unpublished) and the algorithm", async () => {
    const run = await runProgram({ replicas: "2", httpPort: "9090", lbAlgorithm: "least_conn" });
    expect(run.outputs).toEqual({
      url: "http://127.0.0.1:9090/",
      replicas: apps(2).map((node) => container(run, node).inputs.name),
      pgpoolEndpoint: undefined,
      lbAlgorithm: "least_conn",
      appPassword: mockPassword("secrets-app"),
      adminToken: mockPassword("secrets-admin-token", 40),
      adminUrl: "http://127.0.0.1:8081/",
    });
  });

  it("brackets an IPv6 listen address in the URL", async () => {
    const run = await runProgram({ listenAddress: "::1" });
    expect(run.outputs.url).toBe("http://[::1]:8080/");
  });
});

describe("PostgreSQL nodes", () => {
  it.each([
    ["true", "on", "remote_apply", /^synchronous_standby_names = 'ANY 1 \(.+\)'$/m],
    ["false", "off", "on", /^synchronous_standby_names = ''$/m],
  ])(
    "synchronousReplication=%s reaches both nodes (PG_SYNCHRONOUS=%s, synchronous_commit=%s)",
    async (synchronousReplication, env, commit, standbyNames) => {
      const run = await runProgram({ synchronousReplication });
      for (const node of ["pg-0", "pg-1"]) {
        const { envs, uploads } = container(run, node).inputs;
        expect(
          envs.filter((e: string) => e.startsWith("PG_SYNCHRONOUS=")),
          node,
        ).toEqual([`PG_SYNCHRONOUS=${env}`]);
        const conf = (uploads as { file: string; content: string }[]).find(
          (u) => u.file === "/etc/ha-stack/postgresql.conf",
        )!.content;
        expect(conf, node).toMatch(new RegExp(`^synchronous_commit = ${commit}$`, "m"));
        expect(conf, node).toMatch(standbyNames);
      }
    },
  );

  it("stops with SIGINT (fast shutdown) and a minute for the checkpoint, like no other container", async () => {
    const run = await runProgram({});
    for (const node of ["pg-0", "pg-1"]) {
      const { inputs } = container(run, node);
      expect(inputs.stopSignal, node).toBe("SIGINT");
      expect(inputs.stopTimeout, node).toBe(60);
      expect(inputs.destroyGraceSeconds, node).toBe(60);
    }
    const others = ofType(run, CONTAINER).filter((c) => !/^pg-[01]$/.test(c.inputs.hostname));
    expect(others.map((c) => c.inputs.stopSignal)).toEqual(others.map(() => undefined));
  });

  it("starts pg-0 as primary and pg-1 as its standby, each the other's peer, each on its own volume", async () => {
    const run = await runProgram({});
    const env = (node: string) =>
      (container(run, node).inputs.envs as string[]).filter((e) =>
        /^PG_(NODE_NAME|PEER_HOST|INITIAL_ROLE)=/.test(e),
      );
    expect(env("pg-0")).toEqual([
      "PG_NODE_NAME=pg-0",
      "PG_PEER_HOST=pg-1",
      "PG_INITIAL_ROLE=primary",
    ]);
    expect(env("pg-1")).toEqual([
      "PG_NODE_NAME=pg-1",
      "PG_PEER_HOST=pg-0",
      "PG_INITIAL_ROLE=standby",
    ]);
    const pgpoolConf = (
      container(run, "pgpool").inputs.uploads as { file: string; content: string }[]
    ).find((u) => u.file === "/etc/ha-stack/pgpool.conf")!.content;
    expect(pgpoolConf).toMatch(/^backend_hostname0 = 'pg-0'$/m);
    expect(pgpoolConf).toMatch(/^backend_hostname1 = 'pg-1'$/m);
    expect(pgpoolConf).toMatch(/^backend_application_name0 = 'pg_0'$/m);
  });
});

describe("app healthcheck", () => {
  /** Runs the app image's healthcheck (app/bin, on the image's PATH) against `answer` locally. */
  async function probe(script: string, answer: number): Promise<{ code: number; paths: string[] }> {
    const paths: string[] = [];
    const server = http.createServer((req, res) => {
      paths.push(req.url ?? "");
      res.writeHead(answer).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const source = path.resolve(__dirname, "../../app/bin", script);
      const child = spawn(source, [], {
        env: { ...process.env, PORT: String(port) },
        stdio: "ignore",
      });
      const code = await new Promise<number>((resolve) =>
        child.on("exit", (c) => resolve(c ?? -1)),
      );
      return { code, paths };
    } finally {
      server.close();
    }
  }

  it("is the app's readiness probe on the port nginx sends traffic to", async () => {
    const run = await runProgram({ replicas: "2" });
    const upstreams = (
      container(run, "nginx").inputs.uploads as { file: string; content: string }[]
    )
      .find((u) => u.file === "/etc/ha-stack/upstreams")!
      .content.trim()
      .split("\n")
      .map((line) => line.split(" ").slice(0, 2).join(":"));
    expect(upstreams).toEqual(apps(2).map((node) => `${container(run, node).inputs.name}:3000`));
    for (const node of apps(2)) {
      const { healthcheck, envs } = container(run, node).inputs;
      expect(healthcheck.tests, node).toEqual(["CMD", "app-healthcheck"]);
      expect(envs, node).toContain("PORT=3000");
    }
  });

  it("runs a script that passes only when GET /readyz on $PORT answers 200", async () => {
    const run = await runProgram({ replicas: "1" });
    const [, script] = container(run, "app-0").inputs.healthcheck.tests as string[];
    expect(await probe(script, 200)).toEqual({ code: 0, paths: ["/readyz"] });
    expect(await probe(script, 503)).toEqual({ code: 1, paths: ["/readyz"] });
  });

  it("fails at once when nothing listens on $PORT", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const child = spawn(path.resolve(__dirname, "../../app/bin/app-healthcheck"), [], {
      env: { ...process.env, PORT: String(port) },
      stdio: "ignore",
    });
    const code = await new Promise<number>((resolve) => child.on("exit", (c) => resolve(c ?? -1)));
    expect(code).toBe(1);
  });
});

describe("state addresses", () => {
  // Every resource's URN as a stack deployed before the database was split into PostgresNode
  // and Pgpool holds it (replicas=2, pgpoolPort set). A resource whose URN (or an alias of it)
  // is not here would be created anew, and its old self deleted, on that stack's next `up`.
  const BEFORE = [
    "ha-stack:secrets:Secrets$random:index/randomPassword:RandomPassword::secrets-postgres",
    "ha-stack:secrets:Secrets$random:index/randomPassword:RandomPassword::secrets-replication",
    "ha-stack:secrets:Secrets$random:index/randomPassword:RandomPassword::secrets-app",
    "ha-stack:secrets:Secrets$random:index/randomPassword:RandomPassword::secrets-pgpool",
    "ha-stack:database:Database$docker:index/volume:Volume::db-pg-0-data",
    "ha-stack:database:Database$docker:index/volume:Volume::db-pg-1-data",
    "ha-stack:network:Networks$docker:index/network:Network::net-frontend",
    "ha-stack:network:Networks$docker:index/network:Network::net-backend",
    "ha-stack:network:Networks$docker:index/network:Network::net-dbaccess",
    "ha-stack:database:Database$docker:index/container:Container::db-pg-0",
    "ha-stack:database:Database$docker:index/container:Container::db-pg-1",
    "ha-stack:database:Database$docker:index/container:Container::db-pgpool",
    "ha-stack:app:AppTier$docker:index/container:Container::app-app-0",
    "ha-stack:app:AppTier$docker:index/container:Container::app-app-1",
    "ha-stack:collector:Collector$docker:index/container:Container::metrics-collector",
    "ha-stack:balancer:Balancer$docker:index/container:Container::lb-nginx",
    "ha-stack:balancer:Balancer$command:local:Command::lb-nginx-config",
  ].map((urn) => `urn:pulumi:unit::ha-stack::${urn}`);
  // Added since (#13, Adminer and the admin token; #20, the roll's handovers; #19, images built as RemoteImage, where
  // pulumi-docker's native docker.Image was: an image holds no data, so such a stack's next `up`
  // builds these and deletes the old Image resources, which pulumi-docker deletes as a no-op).
  const ADDED = [
    "ha-stack:secrets:Secrets$random:index/randomPassword:RandomPassword::secrets-admin-token",
    "ha-stack:images:Images$docker:index/remoteImage:RemoteImage::images-postgres",
    "ha-stack:images:Images$docker:index/remoteImage:RemoteImage::images-pgpool",
    "ha-stack:images:Images$docker:index/remoteImage:RemoteImage::images-app",
    "ha-stack:images:Images$docker:index/remoteImage:RemoteImage::images-nginx",
    "ha-stack:adminer:Adminer$docker:index/remoteImage:RemoteImage::admin-image",
    "ha-stack:adminer:Adminer$docker:index/network:Network::admin-network",
    "ha-stack:adminer:Adminer$docker:index/container:Container::admin-adminer",
    // #20: a roll's handover step per batch (a command: nothing in it to keep).
    "ha-stack:app:AppTier$command:local:Command::app-handover-0",
    "ha-stack:app:AppTier$command:local:Command::app-handover-1",
    // #21: the backup repository and the backup container.
    "ha-stack:database:Database$docker:index/volume:Volume::db-backups",
    "ha-stack:backup:Backup$docker:index/container:Container::backup-backup",
  ].map((urn) => `urn:pulumi:unit::ha-stack::${urn}`);

  it("keeps every provider resource at the address existing stacks hold (URN or alias)", async () => {
    const run = await runProgram({ replicas: "2", pgpoolPort: "15432" });
    const added = run.registrations.filter((r) => r.custom && ADDED.includes(r.urn));
    expect(added.map((r) => r.urn).sort()).toEqual([...ADDED].sort());
    const custom = run.registrations.filter((r) => r.custom && !ADDED.includes(r.urn));
    expect(custom).toHaveLength(BEFORE.length);
    const addresses = custom.map((r) => BEFORE.filter((u) => [r.urn, ...r.aliases].includes(u)));
    expect(addresses).toEqual(custom.map(() => [expect.any(String)]));
    expect(new Set(addresses.flat()).size).toBe(BEFORE.length);
  });
});

describe("component validation", () => {
  // Components check their own args (config.ts has already bounded what index.ts passes) and
  // fail as a ResourceError of themselves, in the one message shape.
  const network = "backend";
  const passwords = { postgres: "p", replication: "r", app: "a", pgpool: "g" };
  const stackArgs = { stack: "unit", prefix: "ha-stack-unit" };

  it.each<[string, () => unknown, string]>([
    [
      "Collector intervalSeconds 0",
      () => new Collector("c", collectorArgs(0)),
      "Collector intervalSeconds is 0; allowed: a whole number from 1 to 3600",
    ],
    [
      "Collector intervalSeconds 3601",
      () => new Collector("c", collectorArgs(3601)),
      "Collector intervalSeconds is 3601; allowed: a whole number from 1 to 3600",
    ],
    [
      "AppTier rolloutBatch 0",
      () => new AppTier("a", { ...appArgs(), rolloutBatch: 0 }),
      "AppTier rolloutBatch is 0; allowed: a whole number from 1 to 32",
    ],
    [
      "AppTier replicas 1.5",
      () => new AppTier("a", { ...appArgs(), replicas: 1.5 }),
      "AppTier replicas is 1.5; allowed: a whole number from 1 to 32",
    ],
    [
      "Pgpool hostPort without dbaccessNetwork",
      () =>
        new Pgpool("p", {
          ...stackArgs,
          image: "q",
          backendNetwork: network,
          passwords,
          backends: [],
          children: 10,
          hostPort: 15432,
        }),
      "Pgpool dbaccessNetwork is undefined; allowed: a network when hostPort is set",
    ],
  ])("rejects %s before declaring any child", async (_, build, message) => {
    const { error, registrations } = await construct(build);
    expect(pulumi.ResourceError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(message);
    // Only the component itself: it names the resource the error belongs to.
    expect(registrations.map((r) => r.custom)).toEqual([false]);
  });

  function collectorArgs(intervalSeconds: number) {
    return {
      ...stackArgs,
      image: "i",
      backendNetwork: network,
      appPassword: "a",
      intervalSeconds,
      after: [],
    };
  }

  function appArgs() {
    return {
      ...stackArgs,
      image: "i",
      frontendNetwork: "frontend",
      backendNetwork: network,
      appPassword: "a",
      pgpool: undefined as never,
    };
  }
});

describe("adminer", () => {
  beforeEach(() => vi.resetModules());

  it("is absent with adminUi=false: no container, image, network or URL", async () => {
    const run = await runProgram({ adminUi: "false", replicas: "2" });
    expect(ofType(run, CONTAINER).map((c) => c.inputs.hostname)).not.toContain("adminer");
    expect(ofType(run, CONTAINER)).toHaveLength(8);
    expect(ofType(run, IMAGE).map((i) => i.inputs.name)).not.toContainEqual(
      expect.stringContaining("-adminer:"),
    );
    expect(ofType(run, IMAGE)).toHaveLength(4);
    expect(ofType(run, NETWORK).map((n) => n.inputs.name)).toEqual([
      "ha-stack-unit-frontend",
      "ha-stack-unit-backend",
    ]);
    expect(run.registrations.filter((r) => r.type === "ha-stack:adminer:Adminer")).toEqual([]);
    expect(run.outputs.adminUrl).toBeUndefined();
    // The token is the app's, not Adminer's: it stays.
    expect(run.secretOutputs.sort()).toEqual(["adminToken", "appPassword"]);
  });

  it("connects through pgpool as PostgreSQL, as www-data, from its own image, and holds no credentials", async () => {
    const run = await runProgram({ baseImage: "ha-stack-base:trixie" });
    const { inputs, secretInputs } = container(run, "adminer");
    expect(inputs.envs).toEqual(["ADMINER_SERVER=pgpool:9999", "ADMINER_DATABASE=app"]);
    expect(inputs.user).toBe("www-data");
    expect(inputs.memory).toBe(256);
    expect(inputs.healthcheck.tests).toEqual(["CMD", "/usr/local/bin/adminer-healthcheck"]);
    expect(inputs.labels).toEqual(
      expect.arrayContaining([{ label: "ha-stack.role", value: "adminer" }]),
    );
    expect(inputs.uploads).toBeUndefined();
    expect(secretInputs).toEqual([]);
    const image = ofType(run, IMAGE).find((i) => i.inputs.name === inputs.image)!;
    expect(image.inputs.build).toEqual({
      context: "adminer",
      buildArgs: { BASE_IMAGE: "ha-stack-base:trixie" },
    });
  });

  it("leaves trust out of every pg_hba and pool_hba line (Adminer logs in with a password)", async () => {
    const run = await runProgram({});
    const hba = ["pg-0", "pg-1", "pgpool"].flatMap((node) =>
      (container(run, node).inputs.uploads as { file: string; content: string }[])
        .filter((u) => /hba\.conf$/.test(u.file))
        .flatMap((u) => u.content.split("\n").filter((l) => l.trim() && !l.startsWith("#"))),
    );
    expect(hba.length).toBeGreaterThan(0);
    for (const line of hba) expect(line.trim().split(/\s+/).at(-1), line).not.toBe("trust");
  });

  it("rejects a hostPort out of range before declaring any child", async () => {
    const { error, registrations } = await construct(
      () =>
        new Adminer("a", {
          stack: "unit",
          prefix: "ha-stack-unit",
          baseImage: "b",
          backendNetwork: "backend",
          pgpool: undefined as never,
          hostPort: 70000,
        }),
    );
    expect(pulumi.ResourceError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(
      "Adminer hostPort is 70000; allowed: a whole number from 1 to 65535",
    );
    expect(registrations.map((r) => r.custom)).toEqual([false]);
  });
});

describe("the admin token", () => {
  beforeEach(() => vi.resetModules());

  it("reaches every app replica as the file ADMIN_TOKEN_FILE names, with the stack name for the status board", async () => {
    const run = await runProgram({ replicas: "3" }, "staging");
    const token = mockPassword("secrets-admin-token", 40);
    for (const node of apps(3)) {
      const { envs, uploads } = container(run, node).inputs;
      expect(envs, node).toEqual(
        expect.arrayContaining(["ADMIN_TOKEN_FILE=/run/secrets/admin-token", "STACK_NAME=staging"]),
      );
      expect(envs.join("\n"), node).not.toContain(token);
      expect(uploads, node).toContainEqual({ file: "/run/secrets/admin-token", content: token });
    }
    expect(container(run, "collector").inputs.envs.join("\n")).not.toContain("ADMIN_TOKEN");
  });

  it("is 40 random alphanumerics, and a secret stack output", async () => {
    const run = await runProgram({});
    const [password] = ofType(run, PASSWORD).filter((p) => p.name === "secrets-admin-token");
    expect(password.inputs).toEqual({ length: 40, special: false });
    expect(run.secretOutputs).toContain("adminToken");
  });
});

describe("backups", () => {
  beforeEach(() => vi.resetModules());

  it("runs the backup container from the postgres image, without a network, reading the nodes' volumes", async () => {
    const run = await runProgram({ backupSchedule: "hourly", backupRetention: "5" });
    const backup = container(run, "backup");
    expect(backup.inputs.image).toBe(container(run, "pg-0").inputs.image);
    expect(backup.inputs.entrypoints).toEqual(["/usr/local/bin/pg-backup"]);
    expect(backup.inputs.command).toEqual(["schedule", "hourly"]);
    expect(backup.inputs.networkMode).toBe("none");
    expect(backup.inputs.networksAdvanced).toEqual([]);
    expect(backup.inputs.user).toBe("postgres");
    expect(backup.inputs.volumes).toEqual([
      { volumeName: "ha-stack-unit-backups", containerPath: "/var/lib/pgbackrest" },
      {
        volumeName: "ha-stack-unit-pg-0-data",
        containerPath: "/var/lib/postgresql/pg-0",
        readOnly: true,
      },
      {
        volumeName: "ha-stack-unit-pg-1-data",
        containerPath: "/var/lib/postgresql/pg-1",
        readOnly: true,
      },
    ]);
    const conf = (backup.inputs.uploads as { file: string; content: string }[]).find(
      (u) => u.file === "/etc/pgbackrest/pgbackrest.conf",
    );
    expect(conf?.content).toContain("repo1-retention-full=5\n");
    expect(conf?.content).toContain("backup-standby=prefer\n");
  });

  it("mounts the repository in both nodes, which archive into it; retention does not touch them", async () => {
    const two = await runProgram({ backupRetention: "2" });
    vi.resetModules();
    const nine = await runProgram({ backupRetention: "9" });
    for (const node of ["pg-0", "pg-1"]) {
      const c = container(two, node);
      expect(c.inputs.volumes[1]).toEqual({
        volumeName: "ha-stack-unit-backups",
        containerPath: "/var/lib/pgbackrest",
      });
      expect(c.inputs.envs).toContain(`PGDATA=/var/lib/postgresql/${node}/pgdata`);
      const postgresql = (c.inputs.uploads as { file: string; content: string }[]).find(
        (u) => u.file === "/etc/ha-stack/postgresql.conf",
      );
      expect(postgresql?.content).toContain("archive_mode = on\n");
      expect(container(nine, node).inputs).toEqual(c.inputs);
    }
  });

  it.each([
    ["true", true],
    ["false", false],
  ])(
    "retainBackups=%s keeps the repository on destroy: %s, whatever retainData says",
    async (retain, kept) => {
      const run = await runProgram({ retainBackups: retain, retainData: "false" });
      const [repository] = ofType(run, VOLUME).filter((v) => v.inputs.name.endsWith("-backups"));
      expect(repository.retainOnDelete).toBe(kept);
      expect(repository.inputs.labels).toEqual(
        expect.arrayContaining([{ label: "ha-stack.role", value: "backups" }]),
      );
    },
  );

  it("restores nothing without restoreTo", async () => {
    const run = await runProgram({});
    expect(ofType(run, COMMAND).filter((c) => c.name.includes("restore"))).toEqual([]);
  });

  it("with restoreTo, restores pg-0's volume from the repository before pg-0 first starts", async () => {
    const run = await runProgram({ restoreTo: "2026-01-02T03:04:05Z", restoreFrom: "prod" });
    const restore = ofType(run, COMMAND).find((c) => c.name === "db-pg-0-restore");
    expect(restore?.inputs.create).toBe("bash scripts/pg-restore.sh");
    expect(restore?.inputs.environment).toMatchObject({
      DATA_VOLUME: "ha-stack-unit-pg-0-data",
      MOUNT: "/var/lib/postgresql/pg-0",
      REPOSITORY: "ha-stack-prod-backups",
      // Copied into the stack's own, which pg-0 reads the archive from while it recovers.
      OWN_REPOSITORY: "ha-stack-unit-backups",
      TARGET: "2026-01-02T03:04:05.000Z",
    });
    // Set: an image change later re-runs nothing (it would find data and refuse).
    expect(restore?.inputs.update).toBeDefined();
    expect(container(run, "pg-0").dependencies).toContain(restore?.urn);
    // pg-1 clones pg-0 as on any first start.
    expect(ofType(run, COMMAND).filter((c) => c.name.includes("restore"))).toHaveLength(1);
  });

  it("restores from the stack's own repository when restoreFrom is unset", async () => {
    const run = await runProgram({ restoreTo: "latest" });
    const restore = ofType(run, COMMAND).find((c) => c.name === "db-pg-0-restore");
    expect(restore?.inputs.environment).toMatchObject({
      REPOSITORY: "ha-stack-unit-backups",
      TARGET: "latest",
    });
  });
});
