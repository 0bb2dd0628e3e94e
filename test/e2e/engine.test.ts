// The e2e test engine against a real Docker engine, with the small fixture program in
// test/e2e/fixtures/basic: create, keep, replace, remove, Docker's own errors, `wait`, down.
// One stack per run (`hs-eng-<pid>`); every object it makes is removed afterwards.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { down, EngineError, stackState, up, type UpResult } from "./engine/engine";
import { statePath } from "./engine/state";

const docker = new Docker();
const programDir = path.resolve(__dirname, "fixtures/basic");
const stack = `hs-eng-${process.pid}`;
const baseImage = process.env.BASE_IMAGE ?? "ha-stack-base:trixie";
const handMade = `hs-eng-conflict-${process.pid}`;
const lines: string[] = [];
const log = (line: string): void => {
  lines.push(line);
};

function run(config: Record<string, string> = {}): Promise<UpResult> {
  return up({ stack, programDir, config: { baseImage, ...config }, log });
}

async function expectFailure(config: Record<string, string>): Promise<EngineError> {
  const error = await run(config).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EngineError);
  return error as EngineError;
}

const urnOf = (type: string, name: string): string =>
  `urn:pulumi:${stack}::hs-eng-fixture::docker:index/${type}::${name}`;
const APP = urnOf("container:Container", "app");

async function inspect(name: string): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await docker.getContainer(name).inspect();
  } catch {
    return undefined;
  }
}

async function execText(container: string, cmd: string[]): Promise<string> {
  const exec = await docker.getContainer(container).exec({ Cmd: cmd, AttachStdout: true });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk);
        done();
      },
    });
    docker.modem.demuxStream(stream, sink, sink);
    stream.on("end", resolve);
    stream.on("error", reject);
  });
  return Buffer.concat(chunks).toString("utf8");
}

/** Every container, network and volume labelled with the stack. */
async function labelled(): Promise<{
  containers: string[];
  networks: string[];
  volumes: string[];
}> {
  const filters = { label: [`ha-stack.stack=${stack}`] };
  const containers = await docker.listContainers({ all: true, filters });
  const networks = await docker.listNetworks({ filters });
  const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
  return {
    containers: containers.map((c) => c.Names[0].replace(/^\//, "")).sort(),
    networks: networks.map((n) => n.Name).sort(),
    volumes: volumes.map((v) => v.Name).sort(),
  };
}

async function removeEverything(): Promise<void> {
  await down({ stack, programDir, log }).catch(() => undefined);
  const { containers, networks, volumes } = await labelled();
  for (const c of [...containers, handMade, `${stack}-conflict`]) {
    await docker
      .getContainer(c)
      .remove({ force: true })
      .catch(() => undefined);
  }
  const ignoreGone = (): undefined => undefined;
  for (const n of networks) await docker.getNetwork(n).remove().catch(ignoreGone);
  for (const v of volumes) await docker.getVolume(v).remove().catch(ignoreGone);
  fs.rmSync(statePath(programDir, stack), { force: true });
}

describe("e2e test engine", () => {
  let first: UpResult;
  let appId: string;

  beforeAll(async () => {
    await removeEverything();
    first = await run();
    appId = (await inspect(`${stack}-app`))!.Id;
  }, 120_000);

  afterAll(async () => {
    await removeEverything();
  }, 120_000);

  it("creates every resource, with labels, env, uploads present before start, and waits for health", async () => {
    expect(first.steps.map((s) => s.op)).toEqual(Array(5).fill("create"));
    const app = (await inspect(`${stack}-app`))!;
    // `wait: true`: up returned only once Docker reported the container healthy.
    expect(app.State.Health?.Status).toBe("healthy");
    expect(app.Config.Labels).toMatchObject({ "ha-stack.stack": stack, "ha-stack.role": "app" });
    expect(app.Config.Env).toContain("GREETING=hello");
    expect(app.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(app.HostConfig.RestartPolicy?.Name).toBe("unless-stopped");
    expect(Object.keys(app.NetworkSettings.Networks)).toEqual([`${stack}-net`]);
    expect(app.NetworkSettings.Networks[`${stack}-net`].Aliases).toContain("app");

    // The command listed the uploaded files at its very first start.
    const seen = await execText(`${stack}-app`, ["cat", "/tmp/seen-at-start"]);
    expect(seen).toMatch(/^-rw-r--r-- 1 0 0 +24 .* \/run\/secrets\/pw$/m);
    expect(seen).toMatch(/^-rw-r--r-- 1 0 0 +5 .* \/etc\/hs-eng\/greeting$/m);
    const password = first.outputs.password as string;
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(await execText(`${stack}-app`, ["cat", "/run/secrets/pw"])).toBe(password);

    expect(first.secretOutputs).toEqual(["password"]);
    expect(first.outputs).toMatchObject({ appName: `${stack}-app`, networkName: `${stack}-net` });
    expect(first.outputs.appAddress).toBe(app.NetworkSettings.Networks[`${stack}-net`].IPAddress);
    // The secret upload stays marked secret in state.
    expect(stackState(programDir, stack).find((r) => r.urn === APP)?.secretInputs).toEqual([
      "uploads",
    ]);
  });

  it("keeps everything when nothing changed (same container id)", async () => {
    const again = await run();
    expect(again.steps.map((s) => s.op)).toEqual(Array(5).fill("same"));
    expect((await inspect(`${stack}-app`))!.Id).toBe(appId);
    expect(again.outputs.password).toBe(first.outputs.password);
  });

  it("replaces the container when an env value changes, deleting the old one first", async () => {
    const result = await run({ greeting: "bonjour" });
    const appSteps = result.steps.filter((s) => s.urn === APP);
    expect(appSteps.map((s) => [s.op, s.reason])).toEqual([
      ["delete", "replace"],
      ["create", "replace"],
    ]);
    expect(appSteps[0].id).toBe(appId);
    const app = (await inspect(`${stack}-app`))!;
    expect(app.Id).not.toBe(appId);
    expect(app.Id).toBe(appSteps[1].id);
    expect(app.Config.Env).toContain("GREETING=bonjour");
    // Nothing else was touched.
    expect(result.steps.filter((s) => s.urn !== APP).map((s) => s.op)).toEqual(
      Array(4).fill("same"),
    );
    appId = app.Id;
  });

  it("deletes a resource the program no longer declares", async () => {
    const withExtra = await run({ greeting: "bonjour", extra: "true" });
    expect(withExtra.steps.filter((s) => s.op === "create").map((s) => s.urn)).toEqual([
      urnOf("container:Container", "extra"),
    ]);
    expect((await inspect(`${stack}-extra`))?.State.Running).toBe(true);

    const without = await run({ greeting: "bonjour" });
    expect(without.steps.filter((s) => s.op !== "same")).toEqual([
      expect.objectContaining({
        op: "delete",
        urn: urnOf("container:Container", "extra"),
        reason: "removed",
      }),
    ]);
    expect(await inspect(`${stack}-extra`)).toBeUndefined();
    expect((await inspect(`${stack}-app`))!.Id).toBe(appId);
  });

  it("surfaces Docker's own error for a name taken by a hand-made container", async () => {
    await docker.createContainer({ name: handMade, Image: baseImage, Cmd: ["sleep", "60"] });
    const error = await expectFailure({ greeting: "bonjour", conflictWith: handMade });
    expect(error.message).toContain(
      `Unable to create container: Error response from daemon: Conflict. The container name "/${handMade}" is already in use by container`,
    );
    // A failed run deletes nothing and keeps its record straight.
    expect((await inspect(`${stack}-app`))!.Id).toBe(appId);
    expect(error.result.resources.map((r) => r.urn)).not.toContain(
      urnOf("container:Container", "conflict"),
    );
    await docker.getContainer(handMade).remove({ force: true });
  });

  it("fails `wait` on a container whose healthcheck fails, with the health log in the error", async () => {
    const error = await expectFailure({ greeting: "bonjour", failing: "true" });
    expect(error.message).toContain(
      `container ${stack}-sick was not healthy within waitTimeout 5s`,
    );
    expect(error.message).toContain("(status unhealthy)");
    expect(error.message).toContain("exit 1: sick-because-test");
    // Created but failed to initialise: recorded, so the next run (or down) can remove it.
    const sick = stackState(programDir, stack).find(
      (r) => r.urn === urnOf("container:Container", "sick"),
    );
    expect(sick?.initErrors?.[0]).toContain("sick-because-test");

    const healed = await run({ greeting: "bonjour" });
    expect(healed.steps.filter((s) => s.op === "delete").map((s) => s.urn)).toEqual([
      urnOf("container:Container", "sick"),
    ]);
    expect(await inspect(`${stack}-sick`)).toBeUndefined();
  }, 60_000);

  it("updates an in-place-updatable input (memory) without replacing the container", async () => {
    const result = await run({ greeting: "bonjour", memory: "96" });
    expect(result.steps.filter((s) => s.op !== "same")).toEqual([
      expect.objectContaining({ op: "update", urn: APP, id: appId, changed: ["memory"] }),
    ]);
    const app = (await inspect(`${stack}-app`))!;
    expect(app.Id).toBe(appId);
    expect(app.HostConfig.Memory).toBe(96 * 1024 * 1024);
  });

  it("replaces the password create-first, its old copy deleted only at the end", async () => {
    const result = await run({ greeting: "bonjour", memory: "96", passwordLength: "20" });
    const PASSWORD = `urn:pulumi:${stack}::hs-eng-fixture::random:index/randomPassword:RandomPassword::password`;
    expect(result.steps.filter((s) => s.op !== "same").map((s) => [s.op, s.urn, s.reason])).toEqual(
      [
        ["create", PASSWORD, "replace"],
        // The container's upload comes from the password: it is replaced too (delete first).
        ["delete", APP, "replace"],
        ["create", APP, "replace"],
        ["delete", PASSWORD, "replaced"],
      ],
    );
    expect(result.outputs.password).toMatch(/^[A-Za-z0-9]{20}$/);
    const app = (await inspect(`${stack}-app`))!;
    expect(await execText(`${stack}-app`, ["cat", "/run/secrets/pw"])).toBe(
      result.outputs.password,
    );
    appId = app.Id;
  });

  it("replacing a network deletes the container using it first, then recreates both", async () => {
    const NET = urnOf("network:Network", "net");
    const result = await run({
      greeting: "bonjour",
      memory: "96",
      passwordLength: "20",
      internalNetwork: "true",
    });
    expect(result.steps.filter((s) => s.op !== "same").map((s) => [s.op, s.urn])).toEqual([
      ["delete", APP],
      ["delete", NET],
      ["create", NET],
      ["create", APP],
    ]);
    const network = await docker.getNetwork(`${stack}-net`).inspect();
    expect(network.Internal).toBe(true);
    expect((await inspect(`${stack}-app`))!.State.Health?.Status).toBe("healthy");
  });

  it("down removes every labelled object except the retained volume", async () => {
    const { steps } = await down({ stack, programDir, log });
    const done = steps.map((s) => `${s.op} ${s.urn.split("::").pop()}`);
    // The container goes first: everything else is in use by it.
    expect(done[0]).toBe("delete app");
    expect(done.slice(1).sort()).toEqual([
      "delete net",
      "delete password",
      "delete scratch",
      "retain data",
    ]);
    expect(await labelled()).toEqual({ containers: [], networks: [], volumes: [`${stack}-data`] });
    expect(stackState(programDir, stack)).toEqual([]);
  });
});

// local.Command as @pulumi/command 1.2 runs it (provider/pkg/provider/local: Create runs `create`;
// Update runs `update`, else `create` again; Delete runs `delete` with the recorded inputs; the
// process gets the provider's environment plus `environment`, in the provider's working
// directory; the SDK adds replaceOnChanges `triggers[*]`, and a replace is create-before-delete).
describe("e2e test engine: local.Command", () => {
  const cmdStack = `${stack}-cmd`;
  const hookLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hs-eng-hook-")), "hook.log");
  const HOOK = `urn:pulumi:${cmdStack}::hs-eng-fixture::command:local:Command::hook`;
  const EXTRA = `urn:pulumi:${cmdStack}::hs-eng-fixture::docker:index/container:Container::extra`;
  const runCmd = (config: Record<string, string> = {}) =>
    up({ stack: cmdStack, programDir, config: { baseImage, hookLog, ...config }, log });
  const hookRuns = () => fs.readFileSync(hookLog, "utf8").trim().split("\n");
  const changes = (result: UpResult) =>
    result.steps.filter((s) => s.op !== "same").map((s) => [s.op, s.urn, s.reason]);

  afterAll(async () => {
    await down({ stack: cmdStack, programDir, log }).catch(() => undefined);
    const volumes = await docker.listVolumes({
      filters: { label: [`ha-stack.stack=${cmdStack}`] },
    });
    for (const v of volumes.Volumes ?? []) await docker.getVolume(v.Name).remove();
    fs.rmSync(statePath(programDir, cmdStack), { force: true });
    fs.rmSync(path.dirname(hookLog), { recursive: true, force: true });
  }, 120_000);

  it("runs `create` once, after what it depends on, in the program directory with its environment", async () => {
    const result = await runCmd();
    const order = result.steps.map((s) => s.urn);
    const app = `urn:pulumi:${cmdStack}::hs-eng-fixture::docker:index/container:Container::app`;
    expect(order.indexOf(HOOK)).toBeGreaterThan(order.indexOf(app));
    expect(hookRuns()).toEqual([`create v1 in ${programDir} home=set`]);
    expect((await runCmd()).steps.find((s) => s.urn === HOOK)?.op).toBe("same");
    expect(hookRuns()).toHaveLength(1);
  }, 120_000);

  it("re-runs `create` as an update when its environment changes (no `update` given)", async () => {
    const result = await runCmd({ hookValue: "v2", extra: "true" });
    // Both wait only for the app, so their order is not fixed.
    expect(changes(result).sort()).toEqual([
      ["create", EXTRA, undefined],
      ["update", HOOK, undefined],
    ]);
    expect(hookRuns().slice(1)).toEqual([`create v2 in ${programDir} home=set`]);
  }, 120_000);

  it("replaces on a trigger change create-first; removed resources and the old copy go last", async () => {
    const result = await runCmd({ hookValue: "v3", hookTrigger: "t2" });
    const [first, ...deletes] = changes(result);
    expect(first).toEqual(["create", HOOK, "replace"]);
    // Neither depends on the other, so (as in Pulumi) their order is not fixed.
    expect(deletes.sort()).toEqual([
      ["delete", HOOK, "replaced"],
      ["delete", EXTRA, "removed"],
    ]);
    // The old copy's `delete` runs with the inputs it was created with.
    expect(hookRuns().slice(2)).toEqual([`create v3 in ${programDir} home=set`, "delete v2"]);
  }, 120_000);

  it("runs `delete` when the program no longer declares it", async () => {
    const result = await up({ stack: cmdStack, programDir, config: { baseImage }, log });
    expect(changes(result)).toEqual([["delete", HOOK, "removed"]]);
    expect(hookRuns().slice(4)).toEqual(["delete v3"]);
  }, 120_000);
});
