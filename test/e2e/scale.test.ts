// Scaling and rolling updates are non-events for the people using the site: every change below
// runs through the real Pulumi engine while steady load goes through nginx, and not one request may
// fail. nginx must only ever balance over replicas that are running and healthy, never over fewer
// healthy replicas than `replicas`; a new app image must reach the leader (which migrates) before
// any follower, each replacement started (and healthy, and in nginx) before the container it
// replaces goes; and an nginx setting must reload the running nginx rather than replace it.
import { setTimeout as sleep } from "node:timers/promises";
import { io as connect, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, logs } from "../../ops/docker";
import type { LoadReport } from "../../ops/http";
import { waitFor } from "../../ops/poll";
import {
  addMigration,
  copyProgram,
  infoLoad,
  removeProgramCopy,
  spread,
  upstreamNodes,
  UpstreamWatch,
  type Served,
} from "../../ops/rollout";
import { upStack, type Stack } from "../../ops/stack";
import type { Step } from "../../ops/stack";
import { stackPerFile } from "./support/stack-per-file";

const STACK = "scale";
// adminUi off: Adminer publishes a fixed host port (8081) that another stack may hold.
const CONFIG = {
  httpPort: "18130",
  collectorIntervalSeconds: "0",
  adminUi: "false",
  lbAlgorithm: "round_robin",
  rolloutBatch: "1",
};
let programDir: string;
let stack: Stack;

stackPerFile(
  STACK,
  { ...CONFIG, replicas: "3" },
  {
    programDir: () => (programDir = copyProgram()),
    onUp: (s) => {
      stack = s;
    },
    afterDown: removeProgramCopy,
  },
);

interface Change {
  readonly report: LoadReport;
  /** Samples where nginx named a container that was not running and healthy. */
  readonly violations: string[];
  /** Samples where fewer healthy containers than `replicas` were in nginx. */
  readonly shortfalls: string[];
  /** Most app containers running at once. */
  readonly maxRunning: number;
  readonly steps: Step[];
}

/** Runs `up` with `config` while 20 requests a second go through nginx and the upstreams are watched. */
async function underLoad(config: Record<string, string>): Promise<Change> {
  const load = infoLoad(stack.url);
  const watch = new UpstreamWatch(STACK, stack.container("nginx"));
  const finished = upStack(STACK, config, programDir).then(
    async (result) => {
      // Requests sent just before `up` returned are still on their way.
      await sleep(2_000);
      return result;
    },
    (error: unknown) => error as Error,
  );
  const result = await finished;
  const report = await load.stop();
  // Capacity is checked against the smaller of the counts before and after.
  const before = stack.result.outputs.replicas as string[];
  const { violations, shortfalls, maxRunning } = await watch.stop(
    Math.min(before.length, Number(config.replicas)),
  );
  if (result instanceof Error) throw result;
  stack = result;
  return { report, violations, shortfalls, maxRunning, steps: stack.result.steps };
}

/** `op node` of every app-container and nginx-config step, in the order the engine took them. */
const appSteps = (steps: Step[], withHandovers = false) =>
  steps
    .filter((s) => withHandovers || !/::app-handover-\d+$/.test(s.urn))
    .filter((s) => /::(app-app-\d+|app-handover-\d+|lb-nginx-config|lb-nginx)$/.test(s.urn))
    .map(
      (s) =>
        `${s.op} ${s.urn
          .split("::")
          .pop()!
          .replace(/^app-|^lb-/, "")}`,
    );

const appNodes = async () =>
  (
    await docker.listContainers({
      filters: { label: [`ha-stack.stack=${STACK}`, "ha-stack.role=app"] },
    })
  )
    .map((c) => c.Labels["ha-stack.node"])
    .sort();

describe("a new app image with a migration", () => {
  let change: Change;
  let migration: string;
  let imagesBefore: Record<string, string>;

  const imageOf = async (node: string) =>
    (await docker.getContainer(stack.container(node)).inspect()).Config.Image;

  beforeAll(async () => {
    imagesBefore = {};
    for (const node of ["app-0", "app-1", "app-2"]) imagesBefore[node] = await imageOf(node);
    migration = addMigration(
      programDir,
      "1900000000000_scale-rollout",
      "CREATE TABLE rollout_marker (id integer PRIMARY KEY);",
    );
    change = await underLoad({ ...CONFIG, replicas: "3" });
  });

  it("fails no request while the replicas are replaced", () => {
    expect(change.report.failures).toEqual([]);
    expect(change.report.ok).toBeGreaterThan(100);
  });

  it("rolls the leader, then one follower at a time (rolloutBatch 1), each handed over before the next starts", () => {
    // A create step is recorded once the container is healthy (wait: true) or the command has
    // run; a delete once it is gone. Each batch's handover tells nginx and stops the batch's old
    // container; Pulumi deletes the stopped containers at the end of the update.
    const steps = appSteps(change.steps, true);
    const creates = steps.filter((s) => s.startsWith("create "));
    expect(creates).toEqual([
      "create app-0",
      "create handover-0",
      "create app-1",
      "create handover-1",
      "create app-2",
      "create handover-2",
      "create nginx-config",
    ]);
    const lastCreate = steps.lastIndexOf("create nginx-config");
    for (const node of ["app-0", "app-1", "app-2"]) {
      expect(steps.indexOf(`delete ${node}`), node).toBeGreaterThan(lastCreate);
    }
    for (const step of change.steps.filter((s) => /::app-app-\d+$/.test(s.urn))) {
      expect(step.reason, step.urn).toBe(step.op === "create" ? "replace" : "replaced");
    }
  });

  it("never runs more than replicas + rolloutBatch app containers", () => {
    expect(change.maxRunning).toBeLessThanOrEqual(3 + 1);
  });

  it("never has fewer than 3 healthy replicas in nginx, nor one that is not healthy", () => {
    expect(change.shortfalls).toEqual([]);
    expect(change.violations).toEqual([]);
  });

  it("runs the new image everywhere, and the leader applied the migration", async () => {
    const after = await Promise.all(["app-0", "app-1", "app-2"].map(imageOf));
    expect(new Set(after).size).toBe(1);
    expect(after[0]).not.toBe(imagesBefore["app-0"]);
    const leader = await logs(stack.container("app-0"));
    expect(leader).toContain("migrations applied");
    expect(leader).toContain(migration);
    for (const follower of ["app-1", "app-2"]) {
      expect(await logs(stack.container(follower))).not.toContain("migrations applied");
    }
  });

  it("never lets a replica serve with its schema behind, and ends on the new schema", () => {
    // getInfo fails any response whose replica reports schemaUpToDate false.
    const last = change.report.successes.at(-1)!.value as Served;
    expect(last.schemaVersion).toBe(migration);
  });
});

describe("scaling 3 → 5 → 2", () => {
  it("3 → 5: adds replicas to nginx only once healthy, fails no request", async () => {
    const change = await underLoad({ ...CONFIG, replicas: "5" });
    expect(change.report.failures).toEqual([]);
    expect(change.violations).toEqual([]);
    expect(change.shortfalls).toEqual([]);
    // The new replicas are created (healthy) one batch at a time, then nginx is told in place.
    const steps = appSteps(change.steps);
    expect(steps.slice(0, 3)).toEqual(["same app-0", "same app-1", "same app-2"]);
    expect(steps.slice(3, 5).sort()).toEqual(["create app-3", "create app-4"]);
    expect(steps.slice(5)).toEqual(["same nginx", "create nginx-config", "delete nginx-config"]);
    expect(await upstreamNodes(STACK, stack.container("nginx"))).toEqual([
      "app-0",
      "app-1",
      "app-2",
      "app-3",
      "app-4",
    ]);
    expect(await appNodes()).toEqual(["app-0", "app-1", "app-2", "app-3", "app-4"]);
    const served = spread(change.report);
    expect(served["app-3"] ?? 0).toBeGreaterThan(0);
    expect(served["app-4"] ?? 0).toBeGreaterThan(0);
  });

  it("5 → 2: takes replicas out of nginx before they stop, fails no request", async () => {
    const change = await underLoad({ ...CONFIG, replicas: "2" });
    expect(change.report.failures).toEqual([]);
    expect(change.violations).toEqual([]);
    expect(change.shortfalls).toEqual([]);
    // nginx is told first; Pulumi deletes what the program no longer declares last.
    const steps = appSteps(change.steps);
    expect(steps.slice(0, 5)).toEqual([
      "same app-0",
      "same app-1",
      "same nginx",
      "create nginx-config",
      "delete nginx-config",
    ]);
    expect(steps.slice(5).sort()).toEqual(["delete app-2", "delete app-3", "delete app-4"]);
    expect(await upstreamNodes(STACK, stack.container("nginx"))).toEqual(["app-0", "app-1"]);
    expect(await appNodes()).toEqual(["app-0", "app-1"]);
  });
});

describe("changing lbAlgorithm", () => {
  let socket: Socket;
  let connects = 0;
  afterAll(() => socket?.close());

  it("reloads the running nginx, fails no request, and chat sessions reconnect on their own", async () => {
    socket = connect(stack.url.replace(/\/$/, ""), { transports: ["websocket"] });
    socket.on("connect", () => connects++);
    await waitFor("the chat socket to connect", async () => (connects > 0 ? true : undefined));
    const before = await docker.getContainer(stack.container("nginx")).inspect();

    const change = await underLoad({ ...CONFIG, replicas: "2", lbAlgorithm: "least_conn" });
    expect(change.report.failures).toEqual([]);
    expect(change.violations).toEqual([]);
    expect(appSteps(change.steps)).toEqual([
      "same app-0",
      "same app-1",
      "same nginx",
      "create nginx-config",
      "delete nginx-config",
    ]);
    const after = await docker.getContainer(stack.container("nginx")).inspect();
    expect({ id: after.Id, startedAt: after.State.StartedAt }).toEqual({
      id: before.Id,
      startedAt: before.State.StartedAt,
    });
    expect(await logs(stack.container("nginx"))).toContain("reloaded nginx");

    // The old nginx workers close open websockets after worker_shutdown_timeout (8 s); the
    // socket.io client connects again by itself, through the new workers.
    await waitFor(
      "the chat socket to reconnect",
      async () => (connects > 1 ? true : undefined),
      40_000,
    );
    await waitFor("the chat socket to be connected", async () =>
      socket.connected ? true : undefined,
    );
    const echo = new Promise<string>((resolve) =>
      socket.on("chat message", (m: { text: string }) => {
        if (m.text === "after the reload") resolve(m.text);
      }),
    );
    socket.emit("chat message", { text: "after the reload" });
    expect(await echo).toBe("after the reload");
  });
});
