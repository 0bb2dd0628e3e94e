import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { invalid, wholeNumber } from "./errors";

/** One type-token package for the whole project: `ha-stack:<module>:<Type>`. */
export const TOKEN = "ha-stack";

/** What an object is for; the `ha-stack.role` label. */
export type Role =
  | "postgres"
  | "pgpool"
  | "app"
  | "collector"
  | "nginx"
  | "adminer"
  | "network"
  | "data"
  | "backup"
  | "backups";

/** A Docker label as the docker provider takes it (containers, networks and volumes alike). */
export interface Label {
  label: string;
  value: string;
}

/** `ha-stack.stack` and `ha-stack.role` (plus `ha-stack.node` for containers): how tools find a stack. */
export function labels(stack: string, role: Role, node?: string): Label[] {
  const result = [
    { label: "ha-stack.stack", value: stack },
    { label: "ha-stack.role", value: role },
  ];
  if (node !== undefined) result.push({ label: "ha-stack.node", value: node });
  return result;
}

/**
 * Throws a `ResourceError` of `resource` ("<where> is <value>; allowed: a whole number from
 * <min> to <max>") unless `value` is one: components validate their args before any child.
 */
export function checkWholeNumber(
  resource: pulumi.Resource,
  where: string,
  value: number,
  min: number,
  max: number,
): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new pulumi.ResourceError(invalid(where, value, wholeNumber(min, max)), resource);
  }
}

/** `address:port` as a client writes it: an IPv6 address in brackets (`[::1]:8080`). */
export function hostPort(address: string, port: number): string {
  return `${address.includes(":") ? `[${address}]` : address}:${port}`;
}

/** Where the stack runs: containers on one Docker engine, or services on a Docker Swarm. */
export const ORCHESTRATORS = ["docker", "swarm"] as const;
export type Orchestrator = (typeof ORCHESTRATORS)[number];

/** What every component of a stack is told: which stack, and the prefix of its Docker names. */
export interface StackArgs {
  /** Containers on one engine, or services on a swarm. @default "docker" */
  readonly orchestrator?: Orchestrator;
  /** Stack name, for the `ha-stack.stack` label. */
  readonly stack: string;
  /** Prefix of every Docker object name, e.g. `ha-stack-dev`. */
  readonly prefix: string;
}

/** A network a container joins, with the short names it answers to there. */
export interface Attachment {
  readonly name: pulumi.Input<string>;
  readonly aliases: string[];
}

/**
 * A file the container finds when it starts: a docker `upload` on one host, a Swarm secret
 * (`secret: true`) or config mounted at `file` on a swarm.
 */
export interface Upload {
  readonly file: string;
  readonly content: pulumi.Input<string>;
  /** A password or token: a Swarm secret rather than a config. @default false */
  readonly secret?: boolean;
}

/** What differs between the long-running containers of the stack. */
export interface ContainerSpec {
  readonly stack: string;
  /** Physical container (or Swarm service) name, already carrying the stack prefix. */
  readonly name: pulumi.Input<string>;
  readonly role: Role;
  /** Short name inside the stack (`pg-0`, `app-2`, …); also the container's hostname. */
  readonly node: string;
  /** The hostname, when it is not `node` (a Swarm template such as `app-{{.Task.Slot}}`). */
  readonly hostname?: string;
  readonly image: pulumi.Input<string>;
  readonly memoryMb: number;
  /** The healthcheck command (exec form, without "CMD"). */
  readonly healthcheck: string[];
  readonly networks: readonly Attachment[];
  readonly envs?: pulumi.Input<string>[];
  readonly command?: string[];
  readonly user?: string;
  readonly uploads?: readonly Upload[];
  readonly volumes?: docker.types.input.ContainerVolume[];
  readonly ports?: docker.types.input.ContainerPort[];
  /** Seconds between health probes; the first probe comes one interval after start. @default 2 */
  readonly healthIntervalSeconds?: number;
  /** Seconds Docker waits after the stop signal before SIGKILL. @default 10 */
  readonly stopTimeoutSeconds?: number;
  /** The signal that stops the main process. @default Docker's (SIGTERM) */
  readonly stopSignal?: string;
  /** Seconds before a failing healthcheck counts. @default 120 */
  readonly startPeriodSeconds?: number;
}

/**
 * Whole seconds as the docker provider writes a duration back into its state, so that the
 * program's value equals what it reads and a preview finds no change: a container's as Go's
 * time.Duration prints it (`5s`, `1m30s`, `2m0s`), a service's with a zero tail cut off
 * (`2m`, `1h`: kreuzwerker's shortDur).
 */
export function duration(seconds: number, kind: Orchestrator = "docker"): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const go = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  return kind === "docker" ? go : go.replace(/m0s$/, "m").replace(/h0m$/, "h");
}

/** Healthcheck timing shared by both realisations (exec form, `CMD` first). */
export function healthcheckOf(
  spec: ContainerSpec,
  kind: Orchestrator = "docker",
): {
  tests: string[];
  interval: string;
  timeout: string;
  retries: number;
  startPeriod: string;
} {
  return {
    tests: ["CMD", ...spec.healthcheck],
    interval: duration(spec.healthIntervalSeconds ?? 2, kind),
    timeout: duration(5, kind),
    retries: 3,
    startPeriod: duration(spec.startPeriodSeconds ?? 120, kind),
  };
}

/** Log rotation of every container and task: three files of 10 MB. */
export const LOG_OPTIONS = { "max-size": "10m", "max-file": "3" };

/**
 * Resolver options of every container and task. Docker 20.10's embedded DNS (Debian's docker.io
 * on the test machine) does not answer a name it does not know for a container on internal
 * networks only (the backend network is one), and glibc gives up after 20 s (moby/moby#43430):
 * that is what looking up pg-0 or pg-1 meets while that node's container is down, for pgpool's
 * connects and the standby's WAL receiver. With `ndots` set explicitly, the embedded DNS answers
 * an unknown single-label name (every name this stack looks up) at once: 20 s → 3 ms measured.
 * The swarm lab's Docker 26 answered in milliseconds without it; tasks set it all the same.
 */
export const DNS_OPTIONS = ["ndots:1"];

/**
 * Container arguments every part of the stack shares: healthcheck, `wait` for healthy at
 * creation, restart policy, memory limit, init, bounded logs, labels, hostname.
 */
export function containerArgs(spec: ContainerSpec): docker.ContainerArgs {
  return {
    name: spec.name,
    hostname: spec.node,
    image: spec.image,
    envs: spec.envs,
    command: spec.command,
    user: spec.user,
    init: true,
    restart: "unless-stopped",
    memory: spec.memoryMb,
    // No swap beyond the limit: a container over its budget is killed and restarted, not slowed.
    memorySwap: spec.memoryMb,
    labels: labels(spec.stack, spec.role, spec.node),
    logDriver: "json-file",
    logOpts: LOG_OPTIONS,
    dnsOpts: DNS_OPTIONS,
    healthcheck: healthcheckOf(spec),
    // Like `docker run --wait`: the resource is created only once the container is healthy,
    // so everything that dependsOn it starts against a working service.
    wait: true,
    waitTimeout: 300,
    stopTimeout: spec.stopTimeoutSeconds ?? 10,
    stopSignal: spec.stopSignal,
    // On delete or replace the provider removes the container with SIGKILL unless given a grace
    // period: stop it gracefully first (drain requests, checkpoint PostgreSQL).
    destroyGraceSeconds: spec.stopTimeoutSeconds ?? 10,
    networksAdvanced: spec.networks.map((n) => ({ name: n.name, aliases: n.aliases })),
    ports: spec.ports,
    volumes: spec.volumes,
    uploads: spec.uploads?.map((u) => ({ file: u.file, content: u.content })),
  };
}
