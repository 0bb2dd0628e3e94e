// Stand-ins for the docker provider's Swarm resources (@pulumi/docker 5.2.0, bridged from
// kreuzwerker/terraform-provider-docker): Service, Secret, ServiceConfig, against the Docker
// engine of the provider's host (a swarm manager). Sources, read with the project's search tool:
// - `internal/provider/resource_docker_service_funcs.go` (commits a5332be1… / 2220d5b3…):
//   resourceDockerServiceCreate / Update / Delete, deleteService, the converge refresh funcs,
//   replicatedConsoleLogUpdater, numberedStates, createServiceSpec and its create* mappers.
// - `internal/provider/resource_docker_service.go` (013b65e4…): defaults (update_config
//   parallelism 1, delay 0s, failure_action pause, monitor 5s, max_failure_ratio "0.0", order
//   stop-first; converge_config delay 7s, timeout 3m; secret/config file uid/gid "0", mode 0o444;
//   port protocol tcp, publish_mode ingress; replicas 1) and `converge_config` ConflictsWith
//   `mode.0.global`.
// - hashicorp/terraform-plugin-sdk `helper/resource/state.go` WaitForStateContext: the polling
//   of a StateChangeConf (first refresh after Delay, then waits 5 s, 10 s, 10 s, … with
//   MinTimeout 5 s; Timeout counted from the start).
// Docker's own error text is passed through unchanged.
import type Docker from "dockerode";
import { durationNs, type Props } from "../values";
import { dockerFor, dockerMessage, healthcheckConfig, type Healthcheck } from "./docker";
import { checkKnown, type Provider, type ProviderContext } from "./types";

type Any = Record<string, any>;

function statusCode(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

function labelMap(labels: unknown): Record<string, string> | undefined {
  if (labels === undefined) return undefined;
  return Object.fromEntries((labels as Any[]).map((l) => [l.label, l.value]));
}

/** Go's time.Duration.String() for whole milliseconds and up ("30s", "3m0s", "1h2m3s", "500ms"). */
export function goDuration(ns: number): string {
  if (ns === 0) return "0s";
  if (ns < 1e9) return `${ns / 1e6}ms`;
  let s = ns / 1e9;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = `${Number(s.toFixed(9))}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}

// ---------------------------------------------------------------------------------------------
// Service: inputs → swarm.ServiceSpec (createServiceSpec)

const SERVICE_INPUTS = [
  "name",
  "labels",
  "taskSpec",
  "mode",
  "updateConfig",
  "rollbackConfig",
  "endpointSpec",
  "convergeConfig",
] as const;
const TASK_SPEC = [
  "containerSpec",
  "networksAdvanceds",
  "placement",
  "resources",
  "restartPolicy",
  "logDriver",
  "forceUpdate",
  "runtime",
] as const;
const CONTAINER_SPEC = [
  "image",
  "env",
  "commands",
  "args",
  "user",
  "hostname",
  "dir",
  "groups",
  "init",
  "readOnly",
  "healthcheck",
  "secrets",
  "configs",
  "mounts",
  "stopSignal",
  "stopGracePeriod",
  "labels",
] as const;
const FILE_REF = ["fileName", "fileUid", "fileGid", "fileMode"];
const UPDATE_CONFIG = [
  "parallelism",
  "delay",
  "failureAction",
  "monitor",
  "maxFailureRatio",
  "order",
];

function validateService(inputs: Props): void {
  checkKnown("Service", inputs, SERVICE_INPUTS);
  if (typeof inputs.name !== "string" || inputs.name === "") {
    throw new Error("Service input name is required");
  }
  const task = inputs.taskSpec as Any | undefined;
  if (task?.containerSpec?.image === undefined) {
    throw new Error("Service input taskSpec.containerSpec.image is required");
  }
  checkKnown("Service", task, TASK_SPEC, "taskSpec.");
  const cs = task.containerSpec as Any;
  checkKnown("Service", cs, CONTAINER_SPEC, "taskSpec.containerSpec.");
  checkKnown(
    "Service",
    cs.healthcheck,
    ["tests", "interval", "timeout", "startPeriod", "retries"],
    "taskSpec.containerSpec.healthcheck.",
  );
  for (const s of (cs.secrets ?? []) as Props[]) {
    checkKnown("Service", s, ["secretId", "secretName", ...FILE_REF], "containerSpec.secrets.");
  }
  for (const c of (cs.configs ?? []) as Props[]) {
    checkKnown("Service", c, ["configId", "configName", ...FILE_REF], "containerSpec.configs.");
  }
  for (const m of (cs.mounts ?? []) as Props[]) {
    checkKnown("Service", m, ["target", "source", "type", "readOnly"], "containerSpec.mounts.");
  }
  for (const n of (task.networksAdvanceds ?? []) as Props[]) {
    checkKnown("Service", n, ["name", "aliases", "driverOpts"], "taskSpec.networksAdvanceds.");
  }
  checkKnown("Service", task.placement, ["constraints", "prefs", "maxReplicas"], "placement.");
  checkKnown("Service", task.resources, ["limits", "reservation"], "taskSpec.resources.");
  checkKnown(
    "Service",
    task.restartPolicy,
    ["condition", "delay", "maxAttempts", "window"],
    "restartPolicy.",
  );
  checkKnown("Service", task.logDriver, ["name", "options"], "taskSpec.logDriver.");
  checkKnown("Service", inputs.mode as Props, ["replicated", "global"], "mode.");
  checkKnown("Service", inputs.updateConfig as Props, UPDATE_CONFIG, "updateConfig.");
  checkKnown("Service", inputs.rollbackConfig as Props, UPDATE_CONFIG, "rollbackConfig.");
  checkKnown("Service", inputs.endpointSpec as Props, ["mode", "ports"], "endpointSpec.");
  for (const p of ((inputs.endpointSpec as Any)?.ports ?? []) as Props[]) {
    checkKnown(
      "Service",
      p,
      ["name", "protocol", "targetPort", "publishedPort", "publishMode"],
      "endpointSpec.ports.",
    );
  }
  checkKnown("Service", inputs.convergeConfig as Props, ["delay", "timeout"], "convergeConfig.");
  // resource_docker_service.go: mode.0.global ConflictsWith converge_config (the SDK's schema
  // check, before any API call; its text).
  if ((inputs.mode as Any)?.global === true && inputs.convergeConfig !== undefined) {
    throw new Error(`"mode.0.global": conflicts with converge_config`);
  }
  if ((inputs.mode as Any)?.global === true && (inputs.mode as Any)?.replicated !== undefined) {
    throw new Error(`"mode.0.global": conflicts with mode.0.replicated`);
  }
}

const ns = (value: string | undefined, what: string): number | undefined =>
  value === undefined ? undefined : durationNs(value, what);

function fileTarget(ref: Any): Any {
  return {
    Name: ref.fileName,
    UID: ref.fileUid ?? "0",
    GID: ref.fileGid ?? "0",
    Mode: ref.fileMode ?? 0o444,
  };
}

function updateOrRollbackConfig(config: Any | undefined): Any | undefined {
  if (config === undefined) return undefined;
  return {
    Parallelism: config.parallelism ?? 1,
    Delay: durationNs(config.delay ?? "0s", "updateConfig.delay"),
    FailureAction: config.failureAction ?? "pause",
    Monitor: durationNs(config.monitor ?? "5s", "updateConfig.monitor"),
    MaxFailureRatio: Number(config.maxFailureRatio ?? "0.0"),
    Order: config.order ?? "stop-first",
  };
}

/** createServiceSpec: the ServiceSpec the provider sends on create and on every update. */
export function serviceSpec(inputs: Props): Any {
  const task = inputs.taskSpec as Any;
  const cs = task.containerSpec as Any;
  const hc = cs.healthcheck as Any | undefined;
  const limits = task.resources?.limits as Any | undefined;
  const reservation = task.resources?.reservation as Any | undefined;
  const rp = task.restartPolicy as Any | undefined;
  const mode = inputs.mode as Any | undefined;
  const endpoint = (inputs.endpointSpec ?? {}) as Any;
  return {
    Name: inputs.name,
    Labels: labelMap(inputs.labels),
    TaskTemplate: {
      ContainerSpec: {
        Image: cs.image,
        Labels: labelMap(cs.labels),
        Command: cs.commands,
        Args: cs.args,
        Hostname: cs.hostname,
        Env:
          cs.env === undefined
            ? undefined
            : Object.entries(cs.env as Record<string, string>).map(([k, v]) => `${k}=${v}`),
        Dir: cs.dir,
        User: cs.user,
        Groups: cs.groups,
        Init: cs.init,
        ReadOnly: cs.readOnly ?? false,
        Mounts: (cs.mounts as Any[] | undefined)?.map((m) => ({
          Type: m.type,
          Target: m.target,
          Source: m.source ?? "",
          ReadOnly: m.readOnly ?? false,
        })),
        StopSignal: cs.stopSignal,
        StopGracePeriod: ns(cs.stopGracePeriod, "containerSpec.stopGracePeriod"),
        Healthcheck: healthcheckConfig(hc as Healthcheck | undefined),
        Secrets: (cs.secrets as Any[] | undefined)?.map((s) => ({
          SecretID: s.secretId,
          SecretName: s.secretName,
          File: fileTarget(s),
        })),
        Configs: (cs.configs as Any[] | undefined)?.map((c) => ({
          ConfigID: c.configId,
          ConfigName: c.configName,
          File: fileTarget(c),
        })),
      },
      Resources: task.resources && {
        Limits: limits && { NanoCPUs: limits.nanoCpus, MemoryBytes: limits.memoryBytes },
        Reservations: reservation && {
          NanoCPUs: reservation.nanoCpus,
          MemoryBytes: reservation.memoryBytes,
        },
      },
      RestartPolicy: rp && {
        Condition: rp.condition,
        Delay: ns(rp.delay, "restartPolicy.delay"),
        MaxAttempts: rp.maxAttempts,
        Window: ns(rp.window, "restartPolicy.window"),
      },
      Placement: task.placement && {
        Constraints: task.placement.constraints,
        Preferences: (task.placement.prefs as string[] | undefined)?.map((p) => ({
          Spread: { SpreadDescriptor: p },
        })),
        MaxReplicas: task.placement.maxReplicas,
      },
      ForceUpdate: task.forceUpdate,
      Runtime: task.runtime,
      // createServiceNetworksAdvanced: Target = name, Aliases, DriverOpts from "key=value".
      Networks: (task.networksAdvanceds as Any[] | undefined)?.map((n) => ({
        Target: n.name,
        Aliases: n.aliases,
        DriverOpts:
          n.driverOpts === undefined
            ? undefined
            : Object.fromEntries(
                (n.driverOpts as string[]).map((o) => [
                  o.split("=")[0],
                  o.split("=").slice(1).join("="),
                ]),
              ),
      })),
      LogDriver: task.logDriver && { Name: task.logDriver.name, Options: task.logDriver.options },
    },
    Mode:
      mode?.global === true
        ? { Global: {} }
        : { Replicated: { Replicas: mode?.replicated?.replicas ?? 1 } },
    UpdateConfig: updateOrRollbackConfig(inputs.updateConfig as Any | undefined),
    RollbackConfig: updateOrRollbackConfig(inputs.rollbackConfig as Any | undefined),
    EndpointSpec: {
      Mode: endpoint.mode,
      Ports: (endpoint.ports as Any[] | undefined)?.map((p) => ({
        Name: p.name,
        Protocol: p.protocol ?? "tcp",
        TargetPort: p.targetPort,
        PublishedPort: p.publishedPort,
        PublishMode: p.publishMode ?? "ingress",
      })),
    },
  };
}

/** A raw Engine API call (dockerode has no method for it). */
function dial(client: Docker, options: Any): Promise<any> {
  return new Promise((resolve, reject) => {
    (client.modem as any).dial(options, (error: unknown, data: unknown) =>
      error ? reject(error) : resolve(data),
    );
  });
}

/**
 * ServiceCreate with QueryRegistry (the Go client's resolveContainerSpecImage): the image is
 * pinned to the digest the registry reports (`image:tag@sha256:…`); when that lookup fails the
 * client goes on with the image unpinned (a warning).
 */
async function pinnedImage(client: Docker, image: string, ctx: ProviderContext): Promise<string> {
  if (image.includes("@")) return image;
  try {
    const info = await dial(client, {
      path: `/distribution/${image}/json`,
      method: "GET",
      statusCodes: {
        200: true,
        401: "unauthorized",
        403: "forbidden",
        404: "not found",
        500: "server error",
      },
      authconfig: {},
    });
    const digest = info?.Descriptor?.digest as string | undefined;
    return digest ? `${image}@${digest}` : image;
  } catch (error) {
    ctx.log(`unable to pin image ${image} to digest: ${dockerMessage(error)}`);
    return image;
  }
}

// ---------------------------------------------------------------------------------------------
// Converging (the refresh funcs, replicatedConsoleLogUpdater, StateChangeConf)

/** numberedStates: the task state machine, in order. */
const NUMBERED_STATES: Record<string, number> = {
  new: 1,
  allocated: 2,
  pending: 3,
  assigned: 4,
  accepted: 5,
  preparing: 6,
  ready: 7,
  starting: 8,
  running: 9,
  complete: 10,
  shutdown: 11,
  failed: 12,
  rejected: 13,
  remove: 14,
  orphaned: 15,
};
const terminalState = (state: string): boolean =>
  (NUMBERED_STATES[state] ?? 0) > NUMBERED_STATES.running;

/**
 * replicatedConsoleLogUpdater.update: the tasks of the service (desired-state running) by slot on
 * nodes that are not down; converged when the number of running tasks equals the replicas. A task
 * with a healthcheck is `starting` until healthy, so running means healthy there.
 */
async function runningEqualsReplicas(client: Docker, service: Any): Promise<boolean> {
  const replicas = service.Spec?.Mode?.Replicated?.Replicas as number | undefined;
  if (replicas === undefined) throw new Error("no replica count");
  const tasks = (await client.listTasks({
    filters: { service: [service.ID], "desired-state": ["running"] },
  })) as Any[];
  const nodes = (await client.listNodes()) as Any[];
  const active = new Set(nodes.filter((n) => n.Status?.State !== "down").map((n) => n.ID));
  const bySlot = new Map<number, Any>();
  for (const task of tasks) {
    const desired = NUMBERED_STATES[task.DesiredState] ?? 0;
    const observed = NUMBERED_STATES[task.Status?.State] ?? 0;
    if (desired === 0 || observed === 0) continue;
    const existing = bySlot.get(task.Slot);
    if (existing !== undefined) {
      const existingDesired = NUMBERED_STATES[existing.DesiredState];
      if (existingDesired < desired) continue;
      if (existingDesired === desired && NUMBERED_STATES[existing.Status.State] <= observed)
        continue;
    }
    if (task.NodeID && !active.has(task.NodeID)) continue;
    bySlot.set(task.Slot, task);
  }
  let running = 0;
  for (const task of bySlot.values()) {
    if (!terminalState(task.DesiredState) && task.Status.State === "running") running++;
  }
  return running === replicas;
}

interface Wait {
  readonly target: string[];
  readonly delayMs: number;
  readonly timeoutMs: number;
  refresh(): Promise<string>;
}

/** StateChangeConf.WaitForStateContext with MinTimeout 5 s: resolves on a target state. */
async function waitForState(wait: Wait, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + wait.timeoutMs;
  let last = "";
  const timeoutError = (): Error =>
    new Error(
      `timeout while waiting for state to become '${wait.target.join(", ")}' (last state: '${last}', timeout: ${goDuration(wait.timeoutMs * 1e6)})`,
    );
  await sleep(Math.min(wait.delayMs, Math.max(0, deadline - Date.now())), signal);
  let pause = 0;
  for (;;) {
    if (signal.aborted) throw new Error("interrupted while waiting for the service to converge");
    if (Date.now() >= deadline) throw timeoutError();
    last = await wait.refresh();
    if (wait.target.includes(last)) return;
    pause = pause === 0 ? 200 : pause * 2;
    pause = Math.min(Math.max(pause, 5000), 10_000);
    if (Date.now() + pause > deadline) {
      await sleep(Math.max(0, deadline - Date.now()), signal);
      throw timeoutError();
    }
    await sleep(pause, signal);
  }
}

function convergeConfig(inputs: Props): { delayMs: number; timeoutNs: number } | undefined {
  const cc = inputs.convergeConfig as Any | undefined;
  if (cc === undefined) return undefined;
  return {
    delayMs: durationNs(cc.delay ?? "7s", "convergeConfig.delay") / 1e6,
    timeoutNs: durationNs(cc.timeout ?? "3m", "convergeConfig.timeout"),
  };
}

const didNotConverge = (id: string, timeoutNs: number): Error =>
  new Error(`Service with ID (${id}) did not converge after ${goDuration(timeoutNs)}`);

/**
 * deleteService: with a stopGracePeriod other than 0s, the containers of the service's tasks that
 * are not shut down (as the provider's engine lists them) are waited for until removed, at most
 * the grace period each, then force-removed; "No such container" is ignored (a task on another
 * node is not a container of this engine). Without it, only ServiceRemove.
 */
async function deleteService(
  client: Docker,
  id: string,
  inputs: Props,
  log: (message: string) => void,
): Promise<void> {
  const grace = (inputs.taskSpec as Any | undefined)?.containerSpec?.stopGracePeriod as
    string | undefined;
  const waitForContainers = grace !== undefined && grace !== "0s";
  const containerIds: string[] = [];
  if (waitForContainers) {
    const tasks = (await client.listTasks({
      filters: { service: [inputs.name as string] },
    })) as Any[];
    for (const task of tasks) {
      const containerId = (task.Status?.ContainerStatus?.ContainerID ?? "") as string;
      if (containerId.trim() !== "" && task.Status?.State !== "shutdown")
        containerIds.push(containerId);
    }
  }
  try {
    await client.getService(id).remove();
  } catch (error) {
    throw new Error(`Error deleting service with ID '${id}': ${dockerMessage(error)}`);
  }
  if (!waitForContainers) return;
  const graceMs = durationNs(grace, "stopGracePeriod") / 1e6;
  for (const containerId of containerIds) {
    log(`waiting for container ${containerId.slice(0, 12)} to be removed (max ${grace})`);
    const container = client.getContainer(containerId);
    const deadline = Date.now() + graceMs;
    // ContainerWait(condition removed) with a context timeout of the grace period.
    for (;;) {
      try {
        await container.inspect();
      } catch (error) {
        if (statusCode(error) === 404) break;
        throw error;
      }
      if (Date.now() >= deadline) break;
      await sleep(250);
    }
    try {
      await container.remove({ force: true, v: true });
    } catch (error) {
      const message = dockerMessage(error);
      if (!/No such container|is already in progress/.test(message)) {
        throw new Error(`Error deleting container with ID '${containerId}': ${message}`);
      }
    }
  }
}

export const serviceProvider: Provider = {
  async create(inputs, ctx) {
    validateService(inputs);
    const client = dockerFor(ctx.dockerHost);
    const spec = serviceSpec(inputs);
    spec.TaskTemplate.ContainerSpec.Image = await pinnedImage(
      client,
      spec.TaskTemplate.ContainerSpec.Image as string,
      ctx,
    );
    let id: string;
    try {
      const created = (await client.createService({}, spec as Docker.CreateServiceOptions)) as Any;
      id = created.id ?? created.ID;
    } catch (error) {
      throw new Error(`Error response from daemon: ${dockerMessage(error)}`);
    }
    const cc = convergeConfig(inputs);
    if (cc !== undefined) {
      ctx.log(
        `waiting for service ${inputs.name as string} to converge (timeout ${goDuration(cc.timeoutNs)})`,
      );
      try {
        await waitForState(
          {
            target: ["running", "complete"],
            delayMs: cc.delayMs,
            timeoutMs: cc.timeoutNs / 1e6,
            refresh: async () => {
              const service = (await client.getService(id).inspect()) as Any;
              return (await runningEqualsReplicas(client, service)) ? "running" : "creating";
            },
          },
          ctx.signal,
        );
      } catch (error) {
        // "the service will be deleted in case it cannot be converged"
        await deleteService(client, id, inputs, ctx.log);
        if ((error as Error).message.includes("timeout while waiting for state")) {
          throw didNotConverge(id, cc.timeoutNs);
        }
        throw error;
      }
    }
    return { id, outputs: { ...inputs, id } };
  },

  async update(old, inputs, _changed, ctx) {
    validateService(inputs);
    const client = dockerFor(ctx.dockerHost);
    const service = client.getService(old.id);
    let current: Any;
    try {
      current = (await service.inspect()) as Any;
      await service.update({ version: current.Version.Index, ...serviceSpec(inputs) });
    } catch (error) {
      throw new Error(`Error response from daemon: ${dockerMessage(error)}`);
    }
    const cc = convergeConfig(inputs);
    if (cc !== undefined) {
      ctx.log(`waiting for service ${inputs.name as string} to converge after the update`);
      try {
        await waitForState(
          {
            target: ["completed"],
            // resourceDockerServiceUpdate waits with a fixed Delay of 7 s.
            delayMs: 7000,
            timeoutMs: cc.timeoutNs / 1e6,
            refresh: async () => {
              const s = (await service.inspect()) as Any;
              let rollback = false;
              const state = s.UpdateStatus?.State as string | undefined;
              const message = (s.UpdateStatus?.Message ?? "") as string;
              switch (state) {
                case "updating":
                  rollback = false;
                  break;
                case "completed":
                  return "completed";
                case "rollback_started":
                  rollback = true;
                  break;
                case "rollback_completed":
                  throw new Error(`service rollback completed: ${message}`);
                case "paused":
                  throw new Error(`service update paused: ${message}`);
                case "rollback_paused":
                  throw new Error(`service rollback paused: ${message}`);
              }
              if (await runningEqualsReplicas(client, s)) {
                if (rollback) throw new Error(`service rollback completed: ${message}`);
                return "completed";
              }
              return "updating";
            },
          },
          ctx.signal,
        );
      } catch (error) {
        if ((error as Error).message.includes("timeout while waiting for state")) {
          throw didNotConverge(old.id, cc.timeoutNs);
        }
        throw error;
      }
    }
    return { ...inputs, id: old.id };
  },

  async delete(record, log) {
    const client = dockerFor(record.dockerHost);
    try {
      await deleteService(client, record.id, record.inputs, log);
    } catch (error) {
      if (/not found/i.test((error as Error).message)) return;
      throw error;
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Secret and ServiceConfig (resource_docker_secret.go, resource_docker_config.go): create and
// delete only; every input ForceNew; `data` must be base64 (validateStringIsBase64Encoded).

function base64Data(what: string, data: unknown): string {
  if (typeof data !== "string") throw new Error(`${what} input data is required`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data) || data.length % 4 !== 0) {
    throw new Error(`"data" (${what}) is not base64 decodeable`);
  }
  return data;
}

function swarmObjectProvider(kind: "secret" | "config", what: string, inputs: string[]): Provider {
  return {
    async create(values, ctx) {
      checkKnown(what, values, inputs);
      if (typeof values.name !== "string" || values.name === "") {
        throw new Error(`${what} input name is required by the test engine (no auto-naming)`);
      }
      const client = dockerFor(ctx.dockerHost);
      const spec = {
        Name: values.name,
        Data: base64Data(what, values.data),
        Labels: labelMap(values.labels),
      };
      let id: string;
      try {
        const created = (await (kind === "secret"
          ? client.createSecret(spec)
          : client.createConfig(spec))) as Any;
        id = created.id ?? created.ID;
      } catch (error) {
        throw new Error(`Error response from daemon: ${dockerMessage(error)}`);
      }
      return { id, outputs: { ...values, id } };
    },
    async update() {
      throw new Error(`docker_${kind} has no update: every input change replaces it`);
    },
    async delete(record) {
      const client = dockerFor(record.dockerHost);
      try {
        await (
          kind === "secret" ? client.getSecret(record.id) : client.getConfig(record.id)
        ).remove();
      } catch (error) {
        if (statusCode(error) === 404) return;
        throw new Error(`Error response from daemon: ${dockerMessage(error)}`);
      }
    },
  };
}

export const secretProvider = swarmObjectProvider("secret", "Secret", ["name", "data", "labels"]);
export const serviceConfigProvider = swarmObjectProvider("config", "ServiceConfig", [
  "name",
  "data",
  "labels",
]);
