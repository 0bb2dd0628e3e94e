// The program with orchestrator=swarm, under the SDK's mock mode: the same stack as services,
// secrets and configs, and each part described once (components/workload.ts) whichever way it runs.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { registryAuth } from "../../components/images";
import { CONVERGE } from "../../components/workload";
import {
  CONTAINER,
  IMAGE,
  MOCK_DIGEST,
  PUSH,
  NETWORK,
  ofType,
  runProgram,
  VOLUME,
  type ProgramRun,
  type Registration,
} from "./harness";

beforeEach(() => vi.resetModules());

const SERVICE = "docker:index/service:Service";
const SECRET = "docker:index/secret:Secret";
const SERVICE_CONFIG = "docker:index/serviceConfig:ServiceConfig";
const PROVIDER = "pulumi:providers:docker";

const swarm = {
  orchestrator: "swarm",
  registry: "127.0.0.1:5055",
  databaseNodes: "node-1,node-2",
  edgeNodes: "node-1,node-3",
};

/** The service whose physical name is `ha-stack-unit-<suffix>`. */
function service(run: ProgramRun, suffix: string): Registration {
  const found = ofType(run, SERVICE).find((r) => r.inputs.name === `ha-stack-unit-${suffix}`);
  if (found === undefined) throw new Error(`no service ${suffix}`);
  return found;
}

const spec = (s: Registration) => s.inputs.taskSpec.containerSpec;
const byUrn = (run: ProgramRun) => new Map(run.registrations.map((r) => [r.urn, r]));

/** Names of the services `s` waits for. */
function dependsOnServices(run: ProgramRun, s: Registration): string[] {
  const all = byUrn(run);
  return s.dependencies
    .map((urn) => all.get(urn))
    .filter((r): r is Registration => r?.type === SERVICE)
    .map((r) => String(r.inputs.name).replace("ha-stack-unit-", ""))
    .sort();
}

describe("orchestrator swarm", () => {
  it("declares services, secrets, configs and overlay networks, and no container or volume", async () => {
    const run = await runProgram({ ...swarm, replicas: "5" });
    expect(ofType(run, CONTAINER)).toEqual([]);
    // Swarm creates a node-local volume where the pinned task mounts it.
    expect(ofType(run, VOLUME)).toEqual([]);
    expect(
      ofType(run, SERVICE)
        .map((s) => s.inputs.name)
        .sort(),
    ).toEqual(
      [
        "adminer",
        "app",
        "app-0",
        "collector",
        "nginx-node-1",
        "nginx-node-3",
        "pg-0",
        "pg-1",
        "pgpool",
      ].map((n) => `ha-stack-unit-${n}`),
    );
    for (const network of ofType(run, NETWORK)) {
      expect(network.inputs).toMatchObject({ driver: "overlay", attachable: true });
    }
    expect(
      ofType(run, NETWORK).find((n) => n.inputs.name.endsWith("-backend"))?.inputs.internal,
    ).toBe(true);
  });

  it("archives nothing and has no backup repository or backup container (single-host only)", async () => {
    const run = await runProgram(swarm);
    expect(ofType(run, VOLUME)).toEqual([]);
    expect(run.registrations.map((r) => r.name)).not.toContain("backup-backup");
    for (const node of ["pg-0", "pg-1"]) {
      expect(spec(service(run, node)).mounts).toHaveLength(1);
    }
  });

  it("pins pg-0 and pg-1 to the two databaseNodes, each on its own volume, stop-first", async () => {
    const run = await runProgram(swarm);
    for (const [index, node] of ["node-1", "node-2"].entries()) {
      const pg = service(run, `pg-${index}`);
      expect(pg.inputs.taskSpec.placement.constraints).toEqual([`node.hostname==${node}`]);
      expect(spec(pg).mounts).toEqual([
        {
          type: "volume",
          source: `ha-stack-unit-pg-${index}-data`,
          target: `/var/lib/postgresql/pg-${index}`,
        },
      ]);
      expect(pg.inputs.mode).toEqual({ replicated: { replicas: 1 } });
      expect(pg.inputs.updateConfig.order).toBe("stop-first");
      expect(spec(pg).stopSignal).toBe("SIGINT");
    }
    expect(service(run, "pgpool").inputs.taskSpec.placement.constraints).toEqual([]);
    expect(dependsOnServices(run, service(run, "pg-1"))).toEqual(["pg-0"]);
    expect(dependsOnServices(run, service(run, "pgpool"))).toEqual(["pg-0", "pg-1"]);
  });

  it("runs the leader as one task, then the followers spread, start-first, rolloutBatch at a time, rolled back on failure", async () => {
    const run = await runProgram({ ...swarm, replicas: "5", rolloutBatch: "2" });
    const leader = service(run, "app-0");
    const followers = service(run, "app");
    expect(leader.inputs.mode).toEqual({ replicated: { replicas: 1 } });
    expect(followers.inputs.mode).toEqual({ replicated: { replicas: 4 } });
    expect(followers.inputs.taskSpec.placement.prefs).toEqual(["spread=node.id"]);
    expect(followers.inputs.updateConfig).toMatchObject({
      order: "start-first",
      parallelism: 2,
      failureAction: "rollback",
    });
    expect(spec(leader).env.APP_ROLE).toBe("leader");
    expect(spec(followers).env).toMatchObject({
      APP_ROLE: "follower",
      REPLICA_INDEX: "{{.Task.Slot}}",
    });
    expect(spec(followers).hostname).toBe("app-{{.Task.Slot}}");
    expect(dependsOnServices(run, leader)).toEqual(["pgpool"]);
    expect(dependsOnServices(run, followers)).toEqual(["app-0"]);
    expect(run.outputs.replicas).toEqual(["ha-stack-unit-app-0", "ha-stack-unit-app"]);
  });

  it("makes every service converge, answer by DNS (no VIP), restart, rotate logs and stay in memory bounds", async () => {
    const run = await runProgram(swarm);
    for (const s of ofType(run, SERVICE)) {
      expect(s.inputs.convergeConfig, s.inputs.name).toEqual(CONVERGE);
      expect(s.inputs.endpointSpec.mode).toBe("dnsrr");
      expect(s.inputs.taskSpec.restartPolicy.condition).toBe("any");
      expect(s.inputs.taskSpec.resources.limits.memoryBytes).toBeGreaterThan(0);
      expect(s.inputs.taskSpec.logDriver.name).toBe("json-file");
      expect(spec(s).healthcheck.tests[0]).toBe("CMD");
      // A service has a fixed name: the old one goes before a replacement is made.
      expect(s.deleteBeforeReplace).toBe(true);
    }
  });

  it("publishes httpPort in host mode with one nginx per edge node, stop-first, one edge at a time", async () => {
    const run = await runProgram({ ...swarm, httpPort: "8090" });
    const first = service(run, "nginx-node-1");
    const second = service(run, "nginx-node-3");
    for (const [s, node] of [
      [first, "node-1"],
      [second, "node-3"],
    ] as const) {
      expect(s.inputs.taskSpec.placement.constraints).toEqual([`node.hostname==${node}`]);
      expect(s.inputs.endpointSpec.ports).toEqual([
        { targetPort: 8080, publishedPort: 8090, publishMode: "host", protocol: "tcp" },
      ]);
      expect(s.inputs.updateConfig.order).toBe("stop-first");
    }
    expect(dependsOnServices(run, first)).toEqual(["app", "app-0"]);
    expect(dependsOnServices(run, second)).toEqual(["nginx-node-1"]);
    expect(run.outputs.url).toBe("http://node-1:8090/");
  });

  it("points nginx at every healthy task by Swarm DNS, with an nginx.conf that scaling does not change", async () => {
    const run = await runProgram({ ...swarm, replicas: "4", lbAlgorithm: "least_conn" });
    const configs = ofType(run, SERVICE_CONFIG);
    const content = (file: string) => {
      const found = configs.find((c) => c.name === `lb-nginx-node-1-${file}`);
      return Buffer.from(found?.inputs.data, "base64").toString();
    };
    expect(content("upstreams")).toBe(
      "tasks.ha-stack-unit-app-0 3000 max_fails=1 fail_timeout=2s\n" +
        "tasks.ha-stack-unit-app 3000 max_fails=1 fail_timeout=2s\n",
    );
    expect(content("nginx.conf")).toContain(`'{"lbAlgorithm":"least_conn"}'`);
    expect(content("nginx.conf")).toContain("least_conn;");
    // A new nginx.conf restarts every edge's nginx (stop-first): scaling must leave it alone.
    const conf = content("nginx.conf");
    vi.resetModules();
    const scaled = await runProgram({ ...swarm, replicas: "9", lbAlgorithm: "least_conn" });
    const scaledConf = ofType(scaled, SERVICE_CONFIG).find(
      (c) => c.name === "lb-nginx-node-1-nginx.conf",
    );
    expect(Buffer.from(scaledConf?.inputs.data, "base64").toString()).toBe(conf);
  });

  it("hands passwords over as Swarm secrets and rendered files as configs, named by their content", async () => {
    const run = await runProgram(swarm);
    const pg = service(run, "pg-0");
    const secretFiles = spec(pg)
      .secrets.map((s: { fileName: string }) => s.fileName)
      .sort();
    expect(secretFiles).toEqual(
      ["app", "pgpool", "postgres", "replication"].map((p) => `/run/secrets/${p}-password`),
    );
    expect(
      spec(pg)
        .configs.map((c: { fileName: string }) => c.fileName)
        .sort(),
    ).toEqual(["/etc/ha-stack/pg_hba.conf", "/etc/ha-stack/postgresql.conf"]);
    for (const secret of ofType(run, SECRET)) {
      expect(secret.secretInputs).toContain("data");
      expect(secret.inputs.name).toMatch(/-[0-9a-f]{8}$/);
      // Named by content: the new one is made before the old one (still mounted) goes.
      expect(secret.deleteBeforeReplace).toBe(false);
    }
    for (const config of ofType(run, SERVICE_CONFIG)) {
      expect(config.inputs.name).toMatch(/-[0-9a-f]{8}$/);
    }
    // No password in any service's environment.
    for (const s of ofType(run, SERVICE)) {
      expect(JSON.stringify(spec(s).env ?? {})).not.toMatch(/PASSWORD=|password-x/);
    }
  });

  it("builds every image with an explicit local engine and pushes it to the registry under a content tag", async () => {
    const run = await runProgram(swarm);
    const [builder] = ofType(run, PROVIDER);
    expect(builder?.name).toBe("builder");
    // A loopback registry: plain HTTP, no login (the provider requires an entry to push at all).
    // (A provider gets its nested config as JSON.)
    expect(JSON.parse(builder?.inputs.registryAuth)).toEqual([
      { address: "http://127.0.0.1:5055", authDisabled: true },
    ]);
    const images = ofType(run, IMAGE);
    const pushes = ofType(run, PUSH);
    expect(images).toHaveLength(5);
    expect(pushes).toHaveLength(5);
    for (const image of images) {
      expect(image.inputs.name).toMatch(/^127\.0\.0\.1:5055\/ha-stack-unit-[a-z]+:[0-9a-f]{16}$/);
    }
    for (const push of pushes) {
      expect(images.map((i) => i.inputs.name)).toContain(push.inputs.name);
      expect(push.inputs.keepRemotely).toBe(true);
    }
    // Built and pushed by the local engine, not the swarm's manager.
    for (const r of [...images, ...pushes]) expect(r.provider).toMatch(/::builder::/);
    // By tag and digest, as Swarm pins it (and the provider reads it back).
    const pushed = new Set(pushes.map((i) => `${i.inputs.name}@${MOCK_DIGEST}`));
    for (const s of ofType(run, SERVICE)) expect(pushed).toContain(spec(s).image);
  });
});

describe("the builder's registry login", () => {
  it.each([
    ["127.0.0.1:5055", { address: "http://127.0.0.1:5055", authDisabled: true }],
    ["localhost:5000", { address: "http://localhost:5000", authDisabled: true }],
    ["registry.example.com:5000", { address: "registry.example.com:5000" }],
    ["10.213.7.5:5000", { address: "10.213.7.5:5000" }],
  ])("%s", (registry, auth) => {
    expect(registryAuth(registry)).toEqual(auth);
  });
});

/** Seconds in a Go duration (`1h2m3s`, `2m`, `5s`). */
function seconds(d: string): number {
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1 };
  return [...d.matchAll(/(\d+)([hms])/g)].reduce((t, [, n, u]) => t + Number(n) * unit[u], 0);
}

describe("one description, two realisations", () => {
  /** The container of the docker run and the service of the swarm run for the same part. */
  async function both(node: string, serviceName = node) {
    const docker = await runProgram({});
    vi.resetModules();
    const onSwarm = await runProgram(swarm);
    const container = ofType(docker, CONTAINER).find((c) => c.inputs.hostname === node);
    return { container: container!, service: service(onSwarm, serviceName) };
  }

  it.each(["pg-0", "pgpool", "collector"])(
    "%s runs the same command, user, environment, healthcheck and memory limit either way",
    async (node) => {
      const { container, service: s } = await both(node);
      const c = container.inputs;
      const t = spec(s);
      expect(t.user).toBe(c.user);
      expect(t.args).toEqual(c.command);
      expect(t.hostname).toBe(c.hostname);
      // The same times, each spelled as the provider reads it back (`2m` for a service, `2m0s`
      // for a container).
      const times = (h: Record<string, unknown>) =>
        Object.fromEntries(
          Object.entries(h).map(([k, v]) => [k, typeof v === "string" ? seconds(v) : v]),
        );
      expect(times(t.healthcheck)).toEqual(times(c.healthcheck));
      expect(t.healthcheck.startPeriod).toBe("2m");
      expect(c.healthcheck.startPeriod).toBe("2m0s");
      expect(s.inputs.taskSpec.resources.limits.memoryBytes).toBe(c.memory * 1024 * 1024);
      // One difference, on purpose: a returning former primary asks for its peer for longer on
      // a swarm, where the overlay takes a while to carry traffic again after a node comes back.
      const peerWait = node.startsWith("pg-")
        ? { PG_PEER_WAIT_SECONDS: ["3", "90"] }
        : ({} as Record<string, string[]>);
      const containerEnv = Object.fromEntries(
        (c.envs ?? []).map((e: string) => [
          e.slice(0, e.indexOf("=")),
          e.slice(e.indexOf("=") + 1),
        ]),
      );
      expect(
        Object.fromEntries(Object.keys(peerWait).map((k) => [k, [containerEnv[k], t.env[k]]])),
      ).toEqual(peerWait);
      expect(t.env ?? {}).toEqual({
        ...containerEnv,
        ...Object.fromEntries(Object.keys(peerWait).map((k) => [k, t.env[k]])),
      });
      // The files a container gets as uploads, a task gets as secrets and configs.
      const mounted = [...(t.secrets ?? []), ...(t.configs ?? [])]
        .map((f: { fileName: string }) => f.fileName)
        .sort();
      // Except the backup repository's config: one host only (a swarm archives nothing).
      const uploads = c.uploads
        .map((u: { file: string }) => u.file)
        .filter((file: string) => file !== "/etc/pgbackrest/pgbackrest.conf");
      expect(mounted).toEqual(uploads.sort());
    },
  );
});
