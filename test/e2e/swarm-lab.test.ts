// The swarm lab (scripts/swarm-lab.sh) against the real Docker engine: three dind Docker hosts
// joined as one swarm of three managers, a registry every node trusts, an overlay network that
// carries traffic between tasks on different nodes (endpoint mode dnsrr: there is no IPVS here),
// a stopped node's task rescheduled elsewhere, the node back Ready after a start, and `down`
// leaving nothing behind. Everything the lab makes is named `ha-stack-lab*` and labelled
// `ha-stack-lab=swarm`; the test starts from `down` and ends with it.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../ops/poll";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "../..");
const SCRIPT = path.join(ROOT, "scripts/swarm-lab.sh");
const BASE_IMAGE = process.env.BASE_IMAGE ?? "ha-stack-base:trixie";

const NODES = [1, 2, 3] as const;
const LABEL = "ha-stack-lab=swarm";
const REGISTRY_PORT = 5055;
const PROBE_IMAGE = "ha-stack-lab-probe";
const PUSH_REF = `127.0.0.1:${REGISTRY_PORT}/ha-stack-lab/probe:e2e`;
const PULL_REF = "10.213.7.5:5000/ha-stack-lab/probe:e2e";
const NET = "ha-stack-lab-e2e-net";
const SPREAD = "ha-stack-lab-e2e-spread";
const MOVER = "ha-stack-lab-e2e-mover";
/** How long Swarm may take to notice a stopped node and start its task elsewhere (seen: ~15 s). */
const RESCHEDULE_BOUND_MS = 60_000;

const ROOT_CGROUP = "/sys/fs/cgroup";
const subdirs = (dir: string): string[] =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => path.join(dir, e.name));

const nodeName = (n: number): string => `ha-stack-lab-node-${n}`;

async function exec(file: string, args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await run(file, args, {
      maxBuffer: 16 * 1024 * 1024,
      timeout: timeoutMs,
      env: { ...process.env, BASE_IMAGE },
    });
    return stdout.trim();
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${file} ${args.join(" ")}: ${e.stderr?.trim() || e.message}\n${e.stdout?.trim() ?? ""}`,
    );
  }
}
const docker = (...args: string[]): Promise<string> => exec("docker", args);
/** The docker CLI inside node `n`. */
const nd = (n: number, ...args: string[]): Promise<string> =>
  exec("docker", ["exec", nodeName(n), "docker", ...args]);
const lab = (args: string[], timeoutMs = 300_000): Promise<string> =>
  exec("bash", [SCRIPT, ...args], timeoutMs);
const lines = (text: string): string[] => text.split("\n").filter((l) => l.trim() !== "");

/** `docker node ls` as node `n` sees it: hostname → "Status ManagerStatus". */
async function swarmView(n: number): Promise<Map<string, string>> {
  const out = await nd(n, "node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.ManagerStatus}}");
  return new Map(
    lines(out).map((l) => {
      const [host, ...rest] = l.split(" ");
      return [host, rest.join(" ")];
    }),
  );
}

/** The running task containers of `service`: node number → container ID. */
async function tasksByNode(service: string): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  for (const n of NODES) {
    const id = lines(
      await nd(n, "ps", "-q", "--filter", `label=com.docker.swarm.service.name=${service}`),
    )[0];
    if (id) found.set(n, id);
  }
  return found;
}

/** Nodes (hostnames) with a task of `service` that is desired and currently running. */
async function runningOn(service: string): Promise<string[]> {
  const out = await nd(
    1,
    "service",
    "ps",
    service,
    "--filter",
    "desired-state=running",
    "--format",
    "{{.Node}} {{.CurrentState}}",
  );
  return lines(out)
    .filter((l) => l.split(" ")[1] === "Running")
    .map((l) => l.split(" ")[0]);
}

describe("swarm lab: three dind Docker hosts as one swarm", () => {
  beforeAll(async () => {
    await lab(["down"]);
  }, 120_000);

  afterAll(async () => {
    // Whatever a test left: the lab is removed (the down test checks that nothing remains).
    await lab(["down"]).catch(() => undefined);
  }, 120_000);

  it("up makes three Ready managers, and a second up is quick", async () => {
    const out = await lab(["up"]);
    expect(out).toMatch(/swarm healthy: three managers Ready/);
    for (const n of NODES) {
      const view = await swarmView(n);
      expect([...view.keys()].sort()).toEqual(["node-1", "node-2", "node-3"]);
      for (const state of view.values()) expect(state).toMatch(/^Ready (Leader|Reachable)$/);
      expect([...view.values()].filter((s) => s.endsWith("Leader"))).toHaveLength(1);
      expect(await nd(n, "info", "--format", "{{.Swarm.ControlAvailable}}")).toBe("true");
    }
    const started = Date.now();
    expect(await lab(["up"])).toMatch(/lab already up/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await lab(["status"])).toMatch(/swarm-lab: healthy$/);
  }, 300_000);

  it("an image pushed from the host to the lab registry runs on all three nodes", async () => {
    await exec("docker", [
      "build",
      "-q",
      "--build-arg",
      `BASE_IMAGE=${BASE_IMAGE}`,
      "-t",
      PROBE_IMAGE,
      path.join(ROOT, "swarm/probe"),
    ]);
    await docker("tag", PROBE_IMAGE, PUSH_REF);
    await docker("push", "-q", PUSH_REF);
    await nd(1, "network", "create", "--driver", "overlay", "--attachable", NET);
    await nd(
      1,
      "service",
      "create",
      "-d",
      "-q",
      "--name",
      SPREAD,
      "--mode",
      "global",
      "--endpoint-mode",
      "dnsrr",
      "--init",
      "--network",
      NET,
      PULL_REF,
    );
    await waitFor(
      "a running task of the global service on every node",
      async () => ((await runningOn(SPREAD)).length === 3 ? true : undefined),
      90_000,
      500,
    ).catch(async (err: Error) => {
      // Say why: the tasks' errors (a pull refused by a node that does not trust the registry…).
      const errors = await nd(
        1,
        "service",
        "ps",
        "--no-trunc",
        "--format",
        "{{.Node}} {{.Error}}",
        SPREAD,
      );
      const pull = await nd(1, "pull", "-q", PULL_REF).catch((e: Error) => e.message);
      throw new Error(`${err.message}\n${errors}\nnode-1 docker pull: ${pull}`);
    });
    expect((await runningOn(SPREAD)).sort()).toEqual(["node-1", "node-2", "node-3"]);
    for (const n of NODES) {
      // Each node's own dockerd pulled it from the registry's lab address.
      // (by digest, which Swarm pinned at service create: the tag column says <none>)
      const images = await nd(n, "image", "ls", "--format", "{{.Repository}}");
      expect(lines(images)).toContain(PULL_REF.replace(/:e2e$/, ""));
      // …and under the host's name too: the node's socat forwards its own 127.0.0.1:5055.
      await nd(n, "pull", "-q", PUSH_REF);
      await nd(n, "image", "rm", PUSH_REF);
    }
  }, 180_000);

  it("tasks.<service> resolves to every task and each task reaches the others across nodes", async () => {
    const tasks = await tasksByNode(SPREAD);
    expect([...tasks.keys()].sort()).toEqual([1, 2, 3]);
    const ipOf = new Map<number, string>();
    const hostOf = new Map<number, string>();
    for (const [n, id] of tasks) {
      ipOf.set(
        n,
        await nd(
          n,
          "inspect",
          "--format",
          `{{(index .NetworkSettings.Networks "${NET}").IPAddress}}`,
          id,
        ),
      );
      hostOf.set(n, await nd(n, "inspect", "--format", "{{.Config.Hostname}}", id));
    }
    const all = [...ipOf.values()].sort();
    expect(new Set(all).size).toBe(3);
    for (const [n, id] of tasks) {
      const answer = await nd(n, "exec", id, "nslookup", `tasks.${SPREAD}`);
      const resolved = answer
        .split(/^Name:/m)
        .slice(1)
        .flatMap((block) => [...block.matchAll(/^Address:\s*(\S+)/gm)].map((m) => m[1]));
      expect([...new Set(resolved)].sort(), `tasks.${SPREAD} from node-${n}`).toEqual(all);
      for (const m of NODES) {
        const body = await nd(
          n,
          "exec",
          id,
          "wget",
          "-qO-",
          "-T",
          "3",
          `http://${ipOf.get(m)}:8080/`,
        );
        expect(body, `node-${n} → the task on node-${m}`).toBe(hostOf.get(m));
        await nd(n, "exec", id, "ping", "-c", "1", "-W", "2", ipOf.get(m)!);
      }
    }
  }, 120_000);

  it("a stopped node's task is rescheduled on another node, and the node comes back Ready", async () => {
    // Off node-1, which this test drives the swarm through.
    await nd(
      1,
      "service",
      "create",
      "-d",
      "-q",
      "--name",
      MOVER,
      "--replicas",
      "1",
      "--init",
      "--constraint",
      "node.hostname!=node-1",
      "--endpoint-mode",
      "dnsrr",
      "--network",
      NET,
      PULL_REF,
    );
    const [from] = await waitFor(
      "the mover's task to run",
      async () => {
        const on = await runningOn(MOVER);
        return on.length === 1 ? on : undefined;
      },
      60_000,
      500,
    );
    const n = Number(from.replace("node-", ""));
    const stopped = Date.now();
    await lab(["node-stop", String(n)]);
    const [to] = await waitFor(
      `the mover's task to run elsewhere than ${from}`,
      async () => {
        const on = await runningOn(MOVER);
        return on.length === 1 && on[0] !== from ? on : undefined;
      },
      RESCHEDULE_BOUND_MS,
      500,
    );
    const rescheduledMs = Date.now() - stopped;
    console.log(`swarm-lab e2e: task moved ${from} → ${to} ${rescheduledMs} ms after node-stop`);
    expect(to).not.toBe("node-1");
    expect((await swarmView(1)).get(from)).toMatch(/^Down /);

    const restarted = Date.now();
    await lab(["node-start", String(n)]);
    await waitFor(
      `${from} Ready and Reachable`,
      async () =>
        (await swarmView(1)).get(from)?.match(/^Ready (Leader|Reachable)$/) ? true : undefined,
      60_000,
      500,
    );
    console.log(`swarm-lab e2e: ${from} Ready again ${Date.now() - restarted} ms after node-start`);
    expect(await lab(["status"])).toMatch(/swarm-lab: healthy$/);
  }, 180_000);

  it("a killed node starts again and rejoins; a cut-off node is isolated, then healed", async () => {
    await lab(["node-kill", "3"]);
    expect(await docker("inspect", "-f", "{{.State.Status}}", nodeName(3))).toBe("exited");
    const out = await lab(["node-start", "3"]);
    expect(out).toMatch(/node-3 back in the swarm/);
    expect(out).toMatch(/swarm settled: three managers Ready, node-[123] leader for 12 s/);

    await lab(["node-cut", "2"]);
    // No address on the lab network, so nothing of the swarm reaches it or leaves it.
    expect(await exec("docker", ["exec", nodeName(2), "ip", "-4", "-o", "addr"])).not.toMatch(
      /10\.213\.7\./,
    );
    await expect(
      exec("docker", ["exec", nodeName(1), "ping", "-c", "1", "-W", "1", "10.213.7.12"]),
    ).rejects.toThrow();
    await waitFor(
      "node-1 to see node-2 gone",
      async () => ((await swarmView(1)).get("node-2")?.startsWith("Ready") ? undefined : true),
      30_000,
      500,
    );
    // Alone, node-2 has no quorum: its manager API fails (after ~20 s: DeadlineExceeded) where a
    // manager with a quorum answers at once; 8 s is enough to tell.
    await expect(
      exec("docker", ["exec", nodeName(2), "timeout", "8", "docker", "node", "ls"]),
    ).rejects.toThrow();
    expect(await lab(["status"]).catch((e: Error) => e.message)).toMatch(/swarm-lab: degraded/);

    const healed = Date.now();
    expect(await lab(["node-heal", "2"])).toMatch(
      /node-2 healed: three managers Ready, node-[123] leader for 12 s/,
    );
    console.log(`swarm-lab e2e: node-2 healed ${Date.now() - healed} ms after node-heal`);
    expect(await lab(["status"])).toMatch(/swarm-lab: healthy$/);
  }, 240_000);

  it("down removes every container, network, volume, cgroup and pushed tag it made", async () => {
    await lab(["down"]);
    expect(await docker("ps", "-aq", "--filter", `label=${LABEL}`)).toBe("");
    expect(await docker("ps", "-aq", "--filter", "name=ha-stack-lab")).toBe("");
    expect(await docker("network", "ls", "-q", "--filter", "name=ha-stack-lab")).toBe("");
    expect(await docker("volume", "ls", "-q", "--filter", `label=${LABEL}`)).toBe("");
    expect(await docker("volume", "ls", "-q", "--filter", "name=ha-stack-lab")).toBe("");
    expect(await docker("image", "ls", "-q", `127.0.0.1:${REGISTRY_PORT}/*/*`)).toBe("");
    // Each node's containers lived in /sys/fs/cgroup[/<controller>]/ha-stack-lab-node-N.
    const cgroups = [ROOT_CGROUP, ...subdirs(ROOT_CGROUP)].flatMap((dir) =>
      subdirs(dir).filter((d) => path.basename(d).startsWith("ha-stack-lab")),
    );
    expect(cgroups).toEqual([]);
  }, 120_000);
});
