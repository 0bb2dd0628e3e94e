// The test engine's Swarm resources against the real three-node swarm lab (scripts/swarm-lab.sh):
// the fixture program test/e2e/fixtures/swarm (an explicit docker provider on node-1's API, an
// overlay network, a secret and a config, a converging replicated service, an image pushed to the
// lab registry) is brought up, updated, rolled back, replaced and destroyed, and each step is
// checked on the swarm itself. The lab is brought up when it is not (and left up, as a cache for
// the next swarm test); every run uses its own name prefix and stack, and removes what it made.
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../ops/poll";
import { down, EngineError, up, type UpResult } from "./engine/engine";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "../..");
const PROGRAM = path.join(__dirname, "fixtures/swarm");
const MANAGER = "tcp://10.213.7.11:2375";
const PROBE_REF = "127.0.0.1:5055/ha-stack-lab/probe:swarm-e2e";
const PREFIX = `hs-sw-${Date.now().toString(36)}`;
const STACK = PREFIX;

async function exec(file: string, args: string[], timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await run(file, args, { timeout: timeoutMs, maxBuffer: 16 << 20 });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${file} ${args.join(" ")}: ${e.stderr?.trim() || e.message}`);
  }
}
/** The docker CLI against the lab manager, as the program's provider reaches it. */
const manager = (...args: string[]): Promise<string> => exec("docker", ["-H", MANAGER, ...args]);
const lines = (text: string): string[] => text.split("\n").filter((l) => l.trim() !== "");

const logs: string[] = [];
const deploy = (config: Record<string, string> = {}): Promise<UpResult> =>
  up({
    stack: STACK,
    programDir: PROGRAM,
    config: { prefix: PREFIX, ...config },
    log: (line) => logs.push(line),
  });
async function failedDeploy(config: Record<string, string>): Promise<EngineError> {
  const error = await deploy(config).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EngineError);
  return error as EngineError;
}

interface Task {
  node: string;
  state: string;
  image: string;
  container: string;
}
/** The running tasks of a service: node, state, image and container id. */
async function runningTasks(service: string): Promise<Task[]> {
  const ids = lines(
    await manager("service", "ps", "-q", "--filter", "desired-state=running", service),
  );
  const tasks: Task[] = [];
  for (const id of ids) {
    const [node, state, image, container] = (
      await manager(
        "inspect",
        "--format",
        "{{.NodeID}} {{.Status.State}} {{.Spec.ContainerSpec.Image}} {{.Status.ContainerStatus.ContainerID}}",
        id,
      )
    ).split(" ");
    const hostname = await manager(
      "node",
      "inspect",
      "--format",
      "{{.Description.Hostname}}",
      node,
    );
    tasks.push({ node: hostname, state, image, container });
  }
  return tasks;
}
/** docker exec into a task's container, through its node's engine. */
const inTask = (task: Task, ...cmd: string[]): Promise<string> =>
  exec("docker", ["exec", `ha-stack-lab-${task.node}`, "docker", "exec", task.container, ...cmd]);
const taskHealth = (task: Task): Promise<string> =>
  exec("docker", [
    "exec",
    `ha-stack-lab-${task.node}`,
    "docker",
    "inspect",
    "--format",
    "{{.State.Health.Status}}",
    task.container,
  ]);
const serviceImage = (service: string): Promise<string> =>
  manager("service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", service);
const ours = async (kind: "service" | "secret" | "config" | "network"): Promise<string[]> =>
  lines(await manager(kind, "ls", "--format", "{{.Name}}")).filter((n) => n.startsWith(PREFIX));

const PUSHED = { push: "true", appMark: "one" };

describe("test engine on the swarm lab: Service, Secret, ServiceConfig, overlay, Image push", () => {
  beforeAll(async () => {
    await exec("bash", [path.join(ROOT, "scripts/swarm-lab.sh"), "up"], 300_000);
    await exec("docker", ["tag", "ha-stack-lab-probe", PROBE_REF]);
    await exec("docker", ["push", "-q", PROBE_REF]);
  }, 360_000);

  afterAll(async () => {
    await down({ stack: STACK, programDir: PROGRAM, log: (l) => logs.push(l) }).catch(
      () => undefined,
    );
  }, 180_000);

  it("creates the service only once its tasks run healthy; secret and config are files in every task", async () => {
    const result = await deploy();
    const created = result.steps.filter((s) => s.op === "create").map((s) => s.type);
    expect(created).toEqual(
      expect.arrayContaining([
        "pulumi:providers:docker",
        "docker:index/network:Network",
        "docker:index/secret:Secret",
        "docker:index/serviceConfig:ServiceConfig",
        "docker:index/service:Service",
      ]),
    );
    expect(result.secretOutputs).toContain("secretData");
    // Right after the up returned: both replicas already running and healthy.
    const tasks = await runningTasks(`${PREFIX}-web`);
    expect(tasks).toHaveLength(2);
    for (const task of tasks) {
      expect(task.state).toBe("running");
      expect(await taskHealth(task)).toBe("healthy");
      expect(await inTask(task, "cat", "/run/secrets/token")).toBe("s3cret-token");
      expect(await inTask(task, "cat", "/etc/app.conf")).toBe("greeting=hello");
      expect(await inTask(task, "stat", "-c", "%a", "/etc/app.conf")).toBe("440");
    }
    expect(
      await manager(
        "network",
        "inspect",
        "--format",
        "{{.Driver}} {{.Attachable}}",
        `${PREFIX}-net`,
      ),
    ).toBe("overlay true");
  }, 180_000);

  it("pushes a built image to the lab registry and rolls the service onto its digest", async () => {
    const result = await deploy(PUSHED);
    const digest = result.outputs.repoDigest as string;
    expect(digest).toMatch(
      new RegExp(`^127\\.0\\.0\\.1:5055/ha-stack-lab/${PREFIX}-app@sha256:[0-9a-f]{64}$`),
    );
    expect(result.steps.find((s) => s.type === "docker:index/service:Service")?.op).toBe("update");
    expect(await serviceImage(`${PREFIX}-web`)).toBe(digest);
    const tasks = await runningTasks(`${PREFIX}-web`);
    expect(tasks.map((t) => t.image)).toEqual([digest, digest]);
    // Pulled by the nodes under the host's name of the registry; the mark is the new build's.
    for (const task of tasks) expect(await inTask(task, "cat", "/mark")).toBe("one");
  }, 240_000);

  it("fails the up when Swarm rolls the update back, and the service keeps the old image", async () => {
    const before = await serviceImage(`${PREFIX}-web`);
    const error = await failedDeploy({ ...PUSHED, appMark: "two", healthCmd: "false" });
    expect(error.message).toMatch(/Service web: service rollback completed: /);
    expect(await serviceImage(`${PREFIX}-web`)).toBe(before);
    const tasks = await runningTasks(`${PREFIX}-web`);
    expect(tasks.map((t) => t.image)).toEqual([before, before]);
  }, 240_000);

  it("replaces the service when a ForceNew field (networksAdvanced aliases) changes", async () => {
    const oldId = await manager("service", "inspect", "--format", "{{.ID}}", `${PREFIX}-web`);
    const result = await deploy({ ...PUSHED, aliases: "web2" });
    const service = result.steps.filter((s) => s.type === "docker:index/service:Service");
    expect(service.map((s) => `${s.op}:${s.reason ?? ""}`)).toEqual([
      "delete:replace",
      "create:replace",
    ]);
    expect(result.outputs.serviceId).not.toBe(oldId);
    expect(
      await manager(
        "service",
        "inspect",
        "--format",
        "{{range .Spec.TaskTemplate.Networks}}{{.Aliases}}{{end}}",
        `${PREFIX}-web`,
      ),
    ).toBe("[web2]");
  }, 240_000);

  it("fails the create of a service that never becomes healthy within convergeConfig.timeout, and removes it", async () => {
    const started = Date.now();
    const error = await failedDeploy({ ...PUSHED, aliases: "web2", bad: "true" });
    expect(error.message).toMatch(
      /Service bad: Service with ID \(\w+\) did not converge after 15s/,
    );
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await ours("service")).toEqual([`${PREFIX}-web`]);
    expect(error.result.resources.map((r) => r.urn)).not.toContainEqual(
      expect.stringMatching(/::bad$/),
    );
  }, 180_000);

  it("down removes the services, the secret, the config and the overlay network", async () => {
    await down({ stack: STACK, programDir: PROGRAM, log: (l) => logs.push(l) });
    expect(await ours("service")).toEqual([]);
    expect(await ours("secret")).toEqual([]);
    expect(await ours("config")).toEqual([]);
    // The manager lists its own copy of an overlay network until its last task container there
    // is gone (seen: a few seconds after the service removal), whatever the provider did.
    await waitFor(
      "the overlay network gone from the manager",
      async () => ((await ours("network")).length === 0 ? true : undefined),
      30_000,
      500,
    );
  }, 180_000);
});
