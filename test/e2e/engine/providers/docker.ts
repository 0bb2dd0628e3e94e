// Stand-in for the docker provider (@pulumi/docker 5.2.0, bridged from kreuzwerker's
// terraform-provider-docker, plus its native Image): Container, Network, Volume, Image against
// the real Docker engine. Docker's own error text is passed through unchanged.
import { execFile } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import dockerignore from "@balena/dockerignore";
import Docker from "dockerode";
import { isDockerUpdatable } from "../schema";
import { durationNs, type Props } from "../values";
import { checkKnown, InitError, type Created, type Provider, type ProviderContext } from "./types";

// The provider's engine address: the `host` of the provider (an explicit `pulumi:providers:docker`
// resource, or stack config `docker:host` for the default provider), as pulumi-docker's
// `provider/image.go` configureDockerClient and kreuzwerker's `internal/provider/config.go` take it
// (`client.WithHost(host)` over `client.FromEnv`); unset = DOCKER_HOST or the local socket.
const clients = new Map<string, Docker>();

/** dockerode options for a provider `host`: `tcp://addr:port` (plain HTTP) or `unix:///path`. */
export function dockerOptions(host: string | undefined): Docker.DockerOptions {
  if (host === undefined || host === "") return {};
  const tcp = /^tcp:\/\/([^:/]+|\[[^\]]+\]):(\d+)\/?$/.exec(host);
  if (tcp) return { protocol: "http", host: tcp[1].replace(/^\[|\]$/g, ""), port: Number(tcp[2]) };
  const unix = /^unix:\/\/(\/.+)$/.exec(host);
  if (unix) return { socketPath: unix[1] };
  throw new Error(
    `test engine implements docker host tcp://<addr>:<port> and unix:///<path> only (got ${host})`,
  );
}

/** The Docker client for a provider host (one per host, reused). */
export function dockerFor(host: string | undefined): Docker {
  const key = host ?? "";
  let client = clients.get(key);
  if (client === undefined) {
    client = new Docker(dockerOptions(host));
    clients.set(key, client);
  }
  return client;
}

/** Docker's own message for a failed API call ("Conflict. The container name …"). */
export function dockerMessage(error: unknown): string {
  const e = error as { json?: { message?: string }; message?: string };
  return e.json?.message ?? e.message ?? String(error);
}

function statusCode(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

function daemonError(action: string, error: unknown): Error {
  return new Error(`${action}: Error response from daemon: ${dockerMessage(error)}`);
}

interface Label {
  label: string;
  value: string;
}

function labelMap(labels: unknown): Record<string, string> | undefined {
  if (labels === undefined) return undefined;
  return Object.fromEntries((labels as Label[]).map((l) => [l.label, l.value]));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

// ---------------------------------------------------------------------------------------------
// Container

const CONTAINER_INPUTS = [
  "name",
  "image",
  "hostname",
  "domainname",
  "envs",
  "command",
  "entrypoints",
  "workingDir",
  "user",
  "labels",
  "healthcheck",
  "wait",
  "waitTimeout",
  "mustRun",
  "start",
  "networksAdvanced",
  "networkMode",
  "ports",
  "volumes",
  "uploads",
  "restart",
  "maxRetryCount",
  "memory",
  "memorySwap",
  "cpuShares",
  "cpuSet",
  "shmSize",
  "init",
  "stopTimeout",
  "stopSignal",
  "destroyGraceSeconds",
  "removeVolumes",
  "logDriver",
  "logOpts",
  "readOnly",
  "tmpfs",
  "capabilities",
  "securityOpts",
  "privileged",
  "sysctls",
  "ulimits",
  "hosts",
] as const;

interface Upload {
  file: string;
  content?: string;
  contentBase64?: string;
  source?: string;
  executable?: boolean;
  permissions?: string;
  owner?: string;
  group?: string;
}

interface NetworkAttachment {
  name: string;
  aliases?: string[];
  ipv4Address?: string;
}

interface Port {
  internal: number;
  external?: number;
  ip?: string;
  protocol?: string;
}

interface Volume {
  volumeName?: string;
  hostPath?: string;
  containerPath?: string;
  fromContainer?: string;
  readOnly?: boolean;
}

export interface Healthcheck {
  tests: string[];
  interval?: string;
  timeout?: string;
  startPeriod?: string;
  retries?: number;
}

/** A healthcheck input as Docker's API takes it (containers and services alike), durations in ns. */
export function healthcheckConfig(healthcheck: Healthcheck | undefined) {
  return (
    healthcheck && {
      Test: healthcheck.tests,
      Interval: durationNs(healthcheck.interval ?? "0s", "healthcheck.interval"),
      Timeout: durationNs(healthcheck.timeout ?? "0s", "healthcheck.timeout"),
      StartPeriod: durationNs(healthcheck.startPeriod ?? "0s", "healthcheck.startPeriod"),
      Retries: healthcheck.retries ?? 0,
    }
  );
}

function validateContainer(inputs: Props): void {
  checkKnown("Container", inputs, CONTAINER_INPUTS);
  if (typeof inputs.image !== "string" || inputs.image === "") {
    throw new Error("Container input image is required (an image name or id)");
  }
  if (typeof inputs.name !== "string" || inputs.name === "") {
    throw new Error("Container input name is required by the test engine (no auto-naming)");
  }
  checkKnown(
    "Container",
    inputs.healthcheck as Props,
    ["tests", "interval", "timeout", "startPeriod", "retries"],
    "healthcheck.",
  );
  for (const n of (inputs.networksAdvanced ?? []) as Props[]) {
    checkKnown("Container", n, ["name", "aliases", "ipv4Address"], "networksAdvanced.");
  }
  for (const p of (inputs.ports ?? []) as Props[]) {
    checkKnown("Container", p, ["internal", "external", "ip", "protocol"], "ports.");
  }
  for (const v of (inputs.volumes ?? []) as Props[]) {
    checkKnown(
      "Container",
      v,
      ["volumeName", "hostPath", "containerPath", "fromContainer", "readOnly"],
      "volumes.",
    );
  }
  for (const u of (inputs.uploads ?? []) as Props[]) {
    checkKnown(
      "Container",
      u,
      ["file", "content", "contentBase64", "source", "executable", "permissions", "owner", "group"],
      "uploads.",
    );
  }
  checkKnown("Container", inputs.capabilities as Props, ["adds", "drops"], "capabilities.");
  if (inputs.start === false) {
    throw new Error("test engine does not implement Container input start=false");
  }
}

function containerCreateOptions(inputs: Props): Docker.ContainerCreateOptions {
  const ports = (inputs.ports ?? []) as Port[];
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) {
    const key = `${p.internal}/${p.protocol ?? "tcp"}`;
    exposed[key] = {};
    bindings[key] = [
      ...(bindings[key] ?? []),
      { HostIp: p.ip ?? "0.0.0.0", HostPort: p.external === undefined ? "" : String(p.external) },
    ];
  }

  // Like volumeSetToDockerVolumes: named volume or host path → bind; path only → anonymous volume.
  const binds: string[] = [];
  const anonymous: Record<string, object> = {};
  const volumesFrom: string[] = [];
  for (const v of (inputs.volumes ?? []) as Volume[]) {
    if (v.fromContainer !== undefined) {
      volumesFrom.push(v.fromContainer);
      continue;
    }
    if (v.containerPath === undefined) {
      throw new Error("Container input volumes: containerPath is required");
    }
    const source = v.volumeName ?? v.hostPath;
    if (source === undefined) anonymous[v.containerPath] = {};
    else binds.push(`${source}:${v.containerPath}${v.readOnly ? ":ro" : ""}`);
  }

  const healthcheck = inputs.healthcheck as Healthcheck | undefined;
  const networks = (inputs.networksAdvanced ?? []) as NetworkAttachment[];
  const first = networks[0];
  const caps = inputs.capabilities as { adds?: string[]; drops?: string[] } | undefined;
  const memory = inputs.memory as number | undefined;
  const swap = inputs.memorySwap as number | undefined;

  return {
    name: inputs.name as string,
    Image: inputs.image as string,
    Hostname: inputs.hostname as string | undefined,
    Domainname: inputs.domainname as string | undefined,
    Env: inputs.envs as string[] | undefined,
    Cmd: inputs.command as string[] | undefined,
    Entrypoint: inputs.entrypoints as string[] | undefined,
    WorkingDir: inputs.workingDir as string | undefined,
    User: inputs.user as string | undefined,
    Labels: labelMap(inputs.labels),
    ExposedPorts: ports.length > 0 ? exposed : undefined,
    Volumes: Object.keys(anonymous).length > 0 ? anonymous : undefined,
    StopSignal: inputs.stopSignal as string | undefined,
    StopTimeout: inputs.stopTimeout as number | undefined,
    Healthcheck: healthcheckConfig(healthcheck),
    HostConfig: {
      RestartPolicy: {
        Name: (inputs.restart as string | undefined) ?? "no",
        MaximumRetryCount: (inputs.maxRetryCount as number | undefined) ?? 0,
      },
      Memory: memory === undefined ? undefined : memory * 1024 * 1024,
      MemorySwap: swap === undefined ? undefined : swap > 0 ? swap * 1024 * 1024 : swap,
      CpuShares: inputs.cpuShares as number | undefined,
      CpusetCpus: inputs.cpuSet as string | undefined,
      ShmSize: inputs.shmSize === undefined ? undefined : (inputs.shmSize as number) * 1024 * 1024,
      Init: (inputs.init as boolean | undefined) ?? false,
      LogConfig:
        inputs.logDriver === undefined && inputs.logOpts === undefined
          ? undefined
          : {
              Type: (inputs.logDriver as string | undefined) ?? "",
              Config: (inputs.logOpts as Record<string, string> | undefined) ?? {},
            },
      ReadonlyRootfs: (inputs.readOnly as boolean | undefined) ?? false,
      Tmpfs: inputs.tmpfs as Record<string, string> | undefined,
      CapAdd: caps?.adds,
      CapDrop: caps?.drops,
      SecurityOpt: inputs.securityOpts as string[] | undefined,
      Privileged: (inputs.privileged as boolean | undefined) ?? false,
      Sysctls: inputs.sysctls as Record<string, string> | undefined,
      Ulimits: (inputs.ulimits as { name: string; soft: number; hard: number }[] | undefined)?.map(
        (u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard }),
      ),
      ExtraHosts: (inputs.hosts as { host: string; ip: string }[] | undefined)?.map(
        (h) => `${h.host}:${h.ip}`,
      ),
      PortBindings: ports.length > 0 ? bindings : undefined,
      Binds: binds.length > 0 ? binds : undefined,
      VolumesFrom: volumesFrom.length > 0 ? volumesFrom : undefined,
      // The provider creates on network_mode (default "bridge"), then leaves it for the
      // networks_advanced; creating directly on the first one ends in the same place.
      NetworkMode: first?.name ?? (inputs.networkMode as string | undefined) ?? "bridge",
    },
    NetworkingConfig: first && { EndpointsConfig: { [first.name]: endpoint(first) } },
  };
}

function endpoint(n: NetworkAttachment): Docker.EndpointSettings {
  return {
    Aliases: n.aliases,
    IPAMConfig: n.ipv4Address === undefined ? undefined : { IPv4Address: n.ipv4Address },
  };
}

/** One tar entry, as the provider uploads it (name = the file path, mode 0644/0744, root-owned). */
function tarFile(file: string, content: Buffer, mode: number, uid: number, gid: number): Buffer {
  let name = file.replace(/^\/+/, "");
  let prefix = "";
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf("/", 155);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
    if (Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) {
      throw new Error(`upload path too long for the test engine's tar writer: ${file}`);
    }
  }
  const header = Buffer.alloc(512, 0);
  const put = (text: string, offset: number, length: number): void => {
    header.write(text, offset, length, "utf8");
  };
  const octal = (n: number, length: number): string => n.toString(8).padStart(length - 1, "0");
  put(name, 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(uid, 8), 108, 8);
  put(octal(gid, 8), 116, 8);
  put(octal(content.length, 12), 124, 12);
  put(octal(Math.floor(Date.now() / 1000), 12), 136, 12);
  put("        ", 148, 8);
  put("0", 156, 1);
  put("ustar\u000000", 257, 8);
  put(prefix, 345, 155);
  let sum = 0;
  for (const byte of header) sum += byte;
  put(`${octal(sum, 7)}\u0000 `, 148, 8);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512, 0);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024, 0)]);
}

function uploadArchive(upload: Upload, programDir: string): Buffer {
  const given = [upload.content, upload.contentBase64, upload.source].filter(
    (v) => v !== undefined,
  );
  if (given.length !== 1) {
    throw new Error(
      `Container upload ${upload.file}: exactly one of content, contentBase64, source must be set`,
    );
  }
  const content =
    upload.content !== undefined
      ? Buffer.from(upload.content, "utf8")
      : upload.contentBase64 !== undefined
        ? Buffer.from(upload.contentBase64, "base64")
        : fs.readFileSync(path.resolve(programDir, upload.source!));
  let mode = upload.executable ? 0o744 : 0o644;
  if (upload.permissions !== undefined) {
    if (!/^0[0-7]{3}$/.test(upload.permissions)) {
      throw new Error(`Container upload ${upload.file}: permissions must look like 0644`);
    }
    mode = parseInt(upload.permissions, 8);
  }
  const id = (value: string | undefined, what: string): number => {
    if (value === undefined) return 0;
    if (!/^\d+$/.test(value)) {
      throw new Error(`test engine implements only numeric upload ${what} (got ${value})`);
    }
    return Number(value);
  };
  return tarFile(upload.file, content, mode, id(upload.owner, "owner"), id(upload.group, "group"));
}

async function logTail(container: Docker.Container, lines = 20): Promise<string> {
  try {
    const buffer = (await container.logs({
      stdout: true,
      stderr: true,
      tail: lines,
      follow: false,
    })) as unknown as Buffer;
    // Multiplexed stream: strip the 8-byte frame headers.
    const out: Buffer[] = [];
    for (let i = 0; i + 8 <= buffer.length;) {
      const size = buffer.readUInt32BE(i + 4);
      out.push(buffer.subarray(i + 8, i + 8 + size));
      i += 8 + size;
    }
    return Buffer.concat(out).toString("utf8").trim() || "(none)";
  } catch {
    return "(no logs)";
  }
}

function lastHealth(info: Docker.ContainerInspectInfo): string {
  const log = info.State.Health?.Log ?? [];
  const last = log[log.length - 1];
  if (last === undefined) return "no health check has run yet";
  return `exit ${last.ExitCode}: ${last.Output.trim() || "(no output)"}`;
}

/** Like the provider's `wait`: poll until Health.Status is healthy, within waitTimeout seconds. */
async function waitHealthy(
  container: Docker.Container,
  name: string,
  timeoutSeconds: number,
  signal: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const info = await container.inspect();
    const health = info.State.Health?.Status;
    if (health === undefined) {
      throw new Error(
        `container ${name}: wait is true but the container has no healthcheck (set the healthcheck input or use an image with HEALTHCHECK)`,
      );
    }
    if (health === "healthy") return;
    if (!info.State.Running && !info.State.Restarting) {
      throw new Error(
        `container ${name} exited (code ${info.State.ExitCode}) before it was healthy; last health check: ${lastHealth(info)}; last log lines:\n${await logTail(container)}`,
      );
    }
    if (signal.aborted) {
      throw new Error(`container ${name}: wait for healthy interrupted (status ${health})`);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `container ${name} was not healthy within waitTimeout ${timeoutSeconds}s (status ${health}); last health check: ${lastHealth(info)}; last log lines:\n${await logTail(container)}`,
      );
    }
    await sleep(500, signal);
  }
}

async function containerOutputs(inputs: Props, container: Docker.Container): Promise<Created> {
  const info = await container.inspect();
  const networks = info.NetworkSettings.Networks ?? {};
  const boundPorts = info.NetworkSettings.Ports ?? {};
  return {
    id: info.Id,
    outputs: {
      ...inputs,
      name: info.Name.replace(/^\//, ""),
      hostname: info.Config.Hostname,
      bridge: info.NetworkSettings.Bridge ?? "",
      ports: ((inputs.ports ?? []) as Port[]).map((p) => {
        const key = `${p.internal}/${p.protocol ?? "tcp"}`;
        const bound = boundPorts[key]?.[0];
        return {
          internal: p.internal,
          external: bound ? Number(bound.HostPort) : p.external,
          ip: p.ip ?? "0.0.0.0",
          protocol: p.protocol ?? "tcp",
        };
      }),
      networkDatas: Object.entries(networks).map(([networkName, n]) => ({
        networkName,
        ipAddress: n.IPAddress,
        ipPrefixLength: n.IPPrefixLen,
        gateway: n.Gateway,
        macAddress: n.MacAddress,
        globalIpv6Address: n.GlobalIPv6Address,
        globalIpv6PrefixLength: n.GlobalIPv6PrefixLen,
        ipv6Gateway: n.IPv6Gateway,
      })),
    },
  };
}

export const containerProvider: Provider = {
  async create(inputs, ctx) {
    validateContainer(inputs);
    const archives = ((inputs.uploads ?? []) as Upload[]).map((u) => ({
      file: u.file,
      tar: uploadArchive(u, ctx.programDir),
    }));
    let container: Docker.Container;
    try {
      container = await dockerFor(ctx.dockerHost).createContainer(containerCreateOptions(inputs));
    } catch (error) {
      throw daemonError("Unable to create container", error);
    }
    const name = inputs.name as string;
    const partial = async (message: string): Promise<never> => {
      throw new InitError(message, await containerOutputs(inputs, container));
    };
    for (const n of ((inputs.networksAdvanced ?? []) as NetworkAttachment[]).slice(1)) {
      try {
        await dockerFor(ctx.dockerHost)
          .getNetwork(n.name)
          .connect({ Container: container.id, EndpointConfig: endpoint(n) });
      } catch (error) {
        await partial(`Unable to connect to network '${n.name}': ${dockerMessage(error)}`);
      }
    }
    // Uploads go in before the first start, like the provider's CopyToContainer to "/".
    for (const archive of archives) {
      try {
        await container.putArchive(archive.tar, { path: "/" });
      } catch (error) {
        await partial(`Unable to upload ${archive.file}: ${dockerMessage(error)}`);
      }
    }
    try {
      await container.start();
    } catch (error) {
      await partial(
        `Unable to start container: Error response from daemon: ${dockerMessage(error)}`,
      );
    }
    const info = await container.inspect();
    if (!info.State.Running && inputs.mustRun !== false) {
      const logs = await logTail(container);
      await container.remove({ force: true, v: true }).catch(() => undefined);
      throw new Error(
        `container ${name} exited immediately (code ${info.State.ExitCode}); last log lines:\n${logs}`,
      );
    }
    if (inputs.wait === true) {
      try {
        await waitHealthy(
          container,
          name,
          (inputs.waitTimeout as number | undefined) ?? 60,
          ctx.signal,
        );
      } catch (error) {
        await partial((error as Error).message);
      }
    }
    return containerOutputs(inputs, container);
  },

  async update(old, inputs, changed, ctx) {
    validateContainer(inputs);
    if (changed.some(isDockerUpdatable)) {
      const memory = inputs.memory as number | undefined;
      const swap = inputs.memorySwap as number | undefined;
      try {
        await dockerFor(ctx.dockerHost)
          .getContainer(old.id)
          .update({
            RestartPolicy: {
              Name: (inputs.restart as string | undefined) ?? "no",
              MaximumRetryCount: (inputs.maxRetryCount as number | undefined) ?? 0,
            },
            CpuShares: (inputs.cpuShares as number | undefined) ?? 0,
            Memory: (memory ?? 0) * 1024 * 1024,
            CpusetCpus: (inputs.cpuSet as string | undefined) ?? "",
            ...(swap === undefined ? {} : { MemorySwap: swap > 0 ? swap * 1024 * 1024 : swap }),
          });
      } catch (error) {
        throw new Error(`Unable to update a container: ${dockerMessage(error)}`);
      }
    }
    return { ...old.outputs, ...inputs };
  },

  async delete(record, log) {
    const inputs = record.inputs;
    if (inputs.rm === true) return;
    const container = dockerFor(record.dockerHost).getContainer(record.id);
    const grace = (inputs.destroyGraceSeconds as number | undefined) ?? 0;
    try {
      // The provider stops first only when destroy_grace_seconds > 0; otherwise `rm -f` (SIGKILL).
      if (grace > 0) {
        log(`stopping ${record.outputs.name as string} (grace ${grace}s)`);
        await container.stop({ t: grace }).catch((error: unknown) => {
          if (statusCode(error) !== 304) throw error;
        });
      }
      await container.remove({
        force: true,
        v: (inputs.removeVolumes as boolean | undefined) ?? true,
      });
    } catch (error) {
      if (statusCode(error) === 404) return;
      throw new Error(`Error deleting container ${record.id}: ${dockerMessage(error)}`);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Network

const NETWORK_INPUTS = [
  "name",
  "driver",
  "internal",
  "attachable",
  "ingress",
  "ipv6",
  "labels",
  "options",
  "ipamDriver",
  "ipamOptions",
  "ipamConfigs",
] as const;

export const networkProvider: Provider = {
  async create(inputs, ctx) {
    checkKnown("Network", inputs, NETWORK_INPUTS);
    const ipam = (inputs.ipamConfigs ?? []) as {
      subnet?: string;
      ipRange?: string;
      gateway?: string;
      auxAddress?: Record<string, string>;
    }[];
    let network: Docker.Network;
    try {
      network = await dockerFor(ctx.dockerHost).createNetwork({
        Name: inputs.name as string,
        // Docker 20.10 allows two networks with one name unless asked; newer engines always check.
        CheckDuplicate: true,
        Driver: inputs.driver as string | undefined,
        Internal: (inputs.internal as boolean | undefined) ?? false,
        Attachable: (inputs.attachable as boolean | undefined) ?? false,
        Ingress: (inputs.ingress as boolean | undefined) ?? false,
        EnableIPv6: (inputs.ipv6 as boolean | undefined) ?? false,
        Labels: labelMap(inputs.labels),
        Options: inputs.options as Record<string, string> | undefined,
        IPAM: {
          Driver: (inputs.ipamDriver as string | undefined) ?? "default",
          Options: inputs.ipamOptions as Record<string, string> | undefined,
          Config: ipam.map((c) => ({
            Subnet: c.subnet,
            IPRange: c.ipRange,
            Gateway: c.gateway,
            AuxiliaryAddresses: c.auxAddress,
          })),
        },
      });
    } catch (error) {
      throw daemonError("Unable to create network", error);
    }
    const info = (await network.inspect()) as Docker.NetworkInspectInfo;
    return {
      id: info.Id,
      outputs: {
        ...inputs,
        name: info.Name,
        driver: info.Driver,
        internal: info.Internal,
        scope: info.Scope,
        options: info.Options ?? {},
        ipamDriver: info.IPAM?.Driver ?? "default",
        ipamConfigs: (info.IPAM?.Config ?? []).map((c) => ({
          subnet: c.Subnet,
          gateway: c.Gateway,
          ...(c.IPRange ? { ipRange: c.IPRange } : {}),
        })),
      },
    };
  },
  async update() {
    throw new Error("docker_network has no update: every input change replaces it");
  },
  // resource_docker_network_funcs.go resourceDockerNetworkDelete: a StateChangeConf (delay 2 s,
  // then every 5 s, up to 30 s) that retries NetworkRemove while Docker says "has active endpoints"
  // (an overlay network whose tasks are still going away); other errors fail at once.
  async delete(record, log) {
    const network = dockerFor(record.dockerHost).getNetwork(record.id);
    const deadline = Date.now() + 30_000;
    await sleep(2000);
    for (;;) {
      try {
        await network.remove();
        return;
      } catch (error) {
        if (statusCode(error) === 404) return;
        if (!/has active endpoints/.test(dockerMessage(error)) || Date.now() > deadline) {
          throw daemonError(`Unable to remove network ${record.outputs.name as string}`, error);
        }
        log(`network ${record.outputs.name as string} has active endpoints; retrying`);
        await sleep(5000);
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Volume

export const volumeProvider: Provider = {
  async create(inputs, ctx) {
    checkKnown("Volume", inputs, ["name", "driver", "driverOpts", "labels"]);
    let info: Docker.VolumeInspectInfo;
    try {
      // Docker returns the existing volume when the name is taken (so retained data is reused).
      // dockerode resolves to a Volume handle (its typings say otherwise).
      const volume = (await dockerFor(ctx.dockerHost).createVolume({
        Name: inputs.name as string | undefined,
        Driver: (inputs.driver as string | undefined) ?? "local",
        DriverOpts: (inputs.driverOpts as Record<string, string> | undefined) ?? {},
        Labels: labelMap(inputs.labels) ?? {},
      })) as unknown as Docker.Volume;
      info = await volume.inspect();
    } catch (error) {
      throw daemonError("Unable to create volume", error);
    }
    return {
      id: info.Name,
      outputs: { ...inputs, name: info.Name, driver: info.Driver, mountpoint: info.Mountpoint },
    };
  },
  async update() {
    throw new Error("docker_volume has no update: every input change replaces it");
  },
  async delete(record, log) {
    // Like the provider: retry while "volume is in use", for up to 30 s.
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await dockerFor(record.dockerHost).getVolume(record.id).remove({ force: true });
        return;
      } catch (error) {
        if (statusCode(error) === 404) return;
        const message = dockerMessage(error);
        if (!/in use/i.test(message) || Date.now() > deadline) {
          throw new Error(`Unable to remove volume ${record.id}: ${message}`);
        }
        log(`volume ${record.id} is in use; retrying`);
        await sleep(1000);
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Image (pulumi-docker's native Image: build locally; Diff = update; Delete = no-op)

interface Build {
  context?: string;
  dockerfile?: string;
  args?: Record<string, string>;
  platform?: string;
  target?: string;
  contextDigest?: string;
}

/** Digest of the build context (files not excluded by .dockerignore) and the Dockerfile. */
function contextDigest(contextDir: string, dockerfile: string): string {
  const hash = crypto.createHash("sha256");
  const ignorePath = path.join(contextDir, ".dockerignore");
  const ig = dockerignore();
  if (fs.existsSync(ignorePath)) ig.add(fs.readFileSync(ignorePath, "utf8").split("\n"));
  const walk = (dir: string): void => {
    for (const entry of fs
      .readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      const rel = path.relative(contextDir, full);
      if (ig.ignores(rel)) continue;
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        hash.update(`${rel}\0${fs.statSync(full).mode & 0o777}\0`);
        hash.update(fs.readFileSync(full));
      } else if (entry.isSymbolicLink()) {
        hash.update(`${rel}\0->${fs.readlinkSync(full)}\0`);
      }
    }
  };
  walk(contextDir);
  hash.update(fs.readFileSync(dockerfile));
  return hash.digest("hex");
}

function run(
  file: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { ...options, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

function buildOf(inputs: Props): Required<Pick<Build, "context" | "dockerfile">> & Build {
  const build = (inputs.build ?? {}) as Build;
  const context = build.context ?? ".";
  return { ...build, context, dockerfile: build.dockerfile ?? path.join(context, "Dockerfile") };
}

async function buildImage(inputs: Props, ctx: ProviderContext): Promise<Created> {
  const imageName = inputs.imageName as string;
  const build = buildOf(inputs);
  const args = ["build", "-t", imageName, "-f", build.dockerfile];
  for (const [k, v] of Object.entries(build.args ?? {})) args.push("--build-arg", `${k}=${v}`);
  if (build.platform !== undefined) args.push("--platform", build.platform);
  if (build.target !== undefined) args.push("--target", build.target);
  args.push(build.context);
  ctx.log(`docker ${args.join(" ")}`);
  try {
    // No buildx here, so the classic builder; the real provider talks BuildKit to the daemon.
    await run("docker", args, {
      cwd: ctx.programDir,
      env: { ...process.env, ...cliHost(ctx.dockerHost), DOCKER_BUILDKIT: "0" },
    });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    const tail = `${e.stdout ?? ""}${e.stderr ?? ""}`.trim().split("\n").slice(-30).join("\n");
    throw new Error(`docker build of ${imageName} failed:\n${tail}`);
  }
  const { stdout } = await run("docker", ["image", "inspect", "--format", "{{.Id}}", imageName], {
    cwd: ctx.programDir,
    env: { ...process.env, ...cliHost(ctx.dockerHost) },
  });
  const imageId = stdout.trim();
  const registry = (inputs.registry ?? {}) as Registry;
  let repoDigest = imageId;
  if (inputs.skipPush !== true) repoDigest = await pushImage(imageName, registry, ctx);
  return {
    id: imageId,
    outputs: {
      ...inputs,
      imageName,
      baseImageName: imageName,
      repoDigest,
      context: build.context,
      dockerfile: build.dockerfile,
      platform: build.platform ?? "linux/amd64",
      registryServer: registry.server ?? "",
    },
  };
}

interface Registry {
  server?: string;
  username?: string;
  password?: string;
}

function cliHost(host: string | undefined): NodeJS.ProcessEnv {
  return host === undefined || host === "" ? {} : { DOCKER_HOST: host };
}

/**
 * pulumi-docker `provider/image.go` dockerBuild, after the build when skipPush is false:
 * getRegistryAddrFromImage (the name must carry a registry: reference.ParseNamed), auth from
 * `registry` when username and password are both set (else the host's docker config: here, none),
 * ImagePush of the name as given, each progress line through processLogLine (an error line fails
 * with its message; code 401 → "authentication is required"; "EOF" → the credentials hint), then
 * ImageInspect: repoDigest = RepoDigests[0].
 */
async function pushImage(
  imageName: string,
  registry: Registry,
  ctx: ProviderContext,
): Promise<string> {
  const first = imageName.split("/")[0];
  const hasDomain =
    imageName.includes("/") &&
    (first.includes(".") || first.includes(":") || first === "localhost");
  if (!hasDomain) {
    throw new Error(
      `error: repository name must be canonical. This provider requires all image names to be fully qualified.\n` +
        "For example, if you are attempting to push to Dockerhub, prefix your image name with `docker.io`:\n\n" +
        "`docker.io/repository/image:tag`",
    );
  }
  const client = dockerFor(ctx.dockerHost);
  const serveraddress = registry.server ?? first;
  const authconfig =
    registry.username && registry.password
      ? { username: registry.username, password: registry.password, serveraddress }
      : { serveraddress };
  ctx.log("Pushing Image to the registry");
  // The repository in the path and the tag as a query parameter, as the docker CLI sends them.
  const tagAt = imageName.lastIndexOf(":");
  const hasTag = tagAt > imageName.lastIndexOf("/");
  const stream = await client
    .getImage(hasTag ? imageName.slice(0, tagAt) : imageName)
    .push({ tag: hasTag ? imageName.slice(tagAt + 1) : "latest", authconfig });
  await new Promise<void>((resolve, reject) => {
    client.modem.followProgress(
      stream,
      (error: Error | null) => (error ? reject(error) : resolve()),
      (event: { error?: string; errorDetail?: { code?: number; message?: string } }) => {
        if (event.errorDetail === undefined && event.error === undefined) return;
        const message = event.errorDetail?.message ?? event.error ?? "";
        if (event.errorDetail?.code === 401) reject(new Error("authentication is required"));
        else if (message === "EOF") {
          reject(
            new Error(
              "EOF\n: This error is most likely due to incorrect or mismatched registry credentials. Please double check you are using the correct credentials and registry name.",
            ),
          );
        } else reject(new Error(message));
      },
    );
  });
  const info = await client.getImage(imageName).inspect();
  const digest = info.RepoDigests?.[0];
  if (digest === undefined) throw new Error(`${imageName}: no repo digest after the push`);
  return digest;
}

export const imageProvider: Provider = {
  async check(inputs, ctx) {
    checkKnown("Image", inputs, ["imageName", "build", "skipPush", "buildOnPreview", "registry"]);
    checkKnown("Image", inputs.registry as Props, ["server", "username", "password"], "registry.");
    checkKnown(
      "Image",
      inputs.build as Props,
      ["context", "dockerfile", "args", "platform", "target"],
      "build.",
    );
    const build = buildOf(inputs);
    const contextDir = path.resolve(ctx.programDir, build.context);
    const dockerfile = path.resolve(ctx.programDir, build.dockerfile);
    if (!fs.existsSync(dockerfile)) {
      throw new Error(`could not open dockerfile at relative path ${build.dockerfile}`);
    }
    return {
      ...inputs,
      build: { ...(inputs.build as Props), contextDigest: contextDigest(contextDir, dockerfile) },
    };
  },
  create: buildImage,
  async update(_old, inputs, _changed, ctx) {
    return (await buildImage(inputs, ctx)).outputs;
  },
  async delete() {
    // pulumi-docker's Image Delete is a no-op: the built image stays in the local store.
  },
};
