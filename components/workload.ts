// One description of a long-running part of the stack (ContainerSpec), realised either as a
// container on one Docker engine or as a service on a Docker Swarm. Components describe what
// runs; this module alone knows how each orchestrator spells it.
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  containerArgs,
  duration,
  healthcheckOf,
  labels,
  DNS_OPTIONS,
  LOG_OPTIONS,
  type ContainerSpec,
  type Orchestrator,
  type Upload,
} from "./common";

/** What only a Swarm service has: tasks, placement and the way updates replace tasks. */
export interface SwarmSpec {
  /** Tasks of the service. @default 1 */
  readonly replicas?: pulumi.Input<number>;
  /** Hostname of the node every task must run on (`node.hostname==…`); unset = any node. */
  readonly node?: string;
  /** Spread the tasks over the nodes (placement preference `spread=node.id`). @default false */
  readonly spread?: boolean;
  /**
   * How an update replaces a task: `start-first` (the new task is healthy before the old one
   * stops) or `stop-first` (needed for one fixed resource: a host-mode port, a data volume).
   * @default "stop-first"
   */
  readonly order?: "start-first" | "stop-first";
  /** Tasks an update replaces at once. @default 1 */
  readonly parallelism?: number;
}

/** A part of the stack as one resource: a container, or a service with its secrets and configs. */
export type Workload = docker.Container | docker.Service;

/** Swarm: how long `pulumi up` waits for a service to converge, and how often it looks. */
export const CONVERGE = { delay: "2s", timeout: "6m" } as const;

/**
 * Swarm: seconds after each task update during which a failed task counts as a failed update
 * (and the update rolls back). A new task is not running before its first passing healthcheck,
 * so a version that never gets healthy fails while the update still waits for it.
 */
export const MONITOR_SECONDS = 15;

/**
 * `spec` as a container (`orchestrator` docker; `swarm` is ignored) or as a Swarm service
 * (`swarm`). `opts` are the container's; a service has a fixed name, so it is always deleted
 * before it is replaced, and its uploads become Swarm secrets and configs named by a digest of
 * their content (a change makes a new one next to the old one, which Swarm cannot edit).
 */
export function workload(
  logicalName: string,
  spec: ContainerSpec,
  orchestrator: Orchestrator | undefined,
  opts: pulumi.CustomResourceOptions & { parent: pulumi.Resource },
  swarm: SwarmSpec = {},
  container: Partial<docker.ContainerArgs> = {},
): Workload {
  if (orchestrator !== "swarm") {
    return new docker.Container(logicalName, { ...containerArgs(spec), ...container }, opts);
  }
  const files = (spec.uploads ?? []).map((upload) =>
    swarmFile(logicalName, spec, upload, opts.parent),
  );
  return new docker.Service(logicalName, serviceArgs(spec, swarm, files), {
    ...opts,
    // A service name cannot exist twice.
    deleteBeforeReplace: true,
    // Swarm fills in the platforms of the image it resolved, and the provider reads them back;
    // the program never sets them, so they are not a change.
    ignoreChanges: ["taskSpec.placement.platforms"],
  });
}

/** An upload as the Swarm object that carries it (secret or config) and where it is mounted. */
interface SwarmFile {
  readonly upload: Upload;
  readonly object: docker.Secret | docker.ServiceConfig;
}

/** Eight hex digits of a SHA-256 of `content`: not secret even when the content is. */
export function digest8(content: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.unsecret(
    pulumi
      .output(content)
      .apply((text) => createHash("sha256").update(text).digest("hex").slice(0, 8)),
  );
}

function swarmFile(
  logicalName: string,
  spec: ContainerSpec,
  upload: Upload,
  parent: pulumi.Resource,
): SwarmFile {
  const base = path.basename(upload.file);
  const args = {
    name: pulumi.interpolate`${spec.name}-${base}-${digest8(upload.content)}`,
    data: pulumi.output(upload.content).apply((text) => Buffer.from(text).toString("base64")),
    labels: labels(spec.stack, spec.role, spec.node),
  };
  // Named by content: a new version is created next to the old one, the service moves over,
  // and the old one (still in use until then) is deleted last.
  const childOpts = { parent, deleteBeforeReplace: false };
  const object = upload.secret
    ? new docker.Secret(
        `${logicalName}-${base}`,
        { ...args, data: pulumi.secret(args.data) },
        childOpts,
      )
    : new docker.ServiceConfig(`${logicalName}-${base}`, args, childOpts);
  return { upload, object };
}

/** `KEY=value` entries as the map a service's `env` takes. */
function envMap(envs: pulumi.Input<string>[] | undefined): pulumi.Output<Record<string, string>> {
  return pulumi.all(envs ?? []).apply((list) =>
    Object.fromEntries(
      list.map((entry) => {
        const at = entry.indexOf("=");
        return at < 0 ? [entry, ""] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    ),
  );
}

/** The service a ContainerSpec becomes on a swarm. */
export function serviceArgs(
  spec: ContainerSpec,
  swarm: SwarmSpec,
  files: readonly SwarmFile[] = [],
): docker.ServiceArgs {
  const stopSeconds = spec.stopTimeoutSeconds ?? 10;
  const update = {
    parallelism: swarm.parallelism ?? 1,
    order: swarm.order ?? "stop-first",
    failureAction: "rollback",
    monitor: duration(MONITOR_SECONDS, "swarm"),
    delay: "0s",
  };
  return {
    name: spec.name,
    labels: labels(spec.stack, spec.role, spec.node),
    taskSpec: {
      containerSpec: {
        image: spec.image,
        hostname: spec.hostname ?? spec.node,
        // None rather than an empty map: the provider reads no variables back as none.
        env: spec.envs?.length ? envMap(spec.envs) : undefined,
        // A container's `command` is the image's CMD; a service's `args` are.
        args: spec.command,
        user: spec.user,
        init: true,
        labels: labels(spec.stack, spec.role, spec.node),
        healthcheck: healthcheckOf(spec, "swarm"),
        stopSignal: spec.stopSignal,
        stopGracePeriod: duration(stopSeconds, "swarm"),
        // Swarm's embedded DNS, no other name server (none listed), with DNS_OPTIONS.
        dnsConfig: { nameservers: [], options: DNS_OPTIONS },
        mounts: spec.volumes?.map((v) => ({
          type: "volume",
          source: v.volumeName,
          target: v.containerPath as pulumi.Input<string>,
        })),
        secrets: files
          .filter((f) => f.upload.secret)
          .map((f) => ({
            secretId: f.object.id,
            secretName: f.object.name,
            fileName: f.upload.file,
            fileMode: 0o444,
          })),
        configs: files
          .filter((f) => !f.upload.secret)
          .map((f) => ({
            configId: f.object.id,
            configName: f.object.name,
            fileName: f.upload.file,
            fileMode: 0o444,
          })),
      },
      networksAdvanceds: spec.networks.map((n) => ({ name: n.name, aliases: n.aliases })),
      placement: {
        constraints: swarm.node !== undefined ? [`node.hostname==${swarm.node}`] : [],
        prefs: swarm.spread ? ["spread=node.id"] : [],
      },
      resources: { limits: { memoryBytes: spec.memoryMb * 1024 * 1024 } },
      // window: Swarm's default (unbounded), as the provider reads it back.
      restartPolicy: { condition: "any", delay: "2s", window: "0s" },
      logDriver: { name: "json-file", options: LOG_OPTIONS },
    },
    mode: { replicated: { replicas: swarm.replicas ?? 1 } },
    updateConfig: update,
    rollbackConfig: { ...update, failureAction: "pause" },
    // Swarm DNS answers the service's name with its tasks' own addresses (no virtual IP: many
    // kernels, this machine's among them, have no IPVS), and lists a task only once it is healthy.
    endpointSpec: {
      mode: "dnsrr",
      ports: spec.ports?.map((p) => ({
        targetPort: p.internal,
        publishedPort: p.external,
        // Straight to the task on the node it runs on: the routing mesh needs IPVS too.
        publishMode: "host",
        protocol: p.protocol ?? "tcp",
      })),
    },
    // `pulumi up` returns only when every task runs and is healthy, and fails when it cannot.
    convergeConfig: CONVERGE,
  };
}
