import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  checkWholeNumber,
  containerArgs,
  TOKEN,
  type ContainerSpec,
  type StackArgs,
} from "./common";
import { MAX_REPLICAS } from "./config";
import { CONNECTIONS_PER_APP } from "./connections";
import { PGPOOL_PORT } from "./pgpool";
import { SERVER_PARAMS } from "./render/nginx";
import { ADMIN_TOKEN_FILE, secretFile, secretFileUpload, secretUpload } from "./secrets";
import { digest8, workload, type Workload } from "./workload";

/** Port the app listens on inside its container. */
export const APP_PORT = 3000;
const APP_MEMORY_MB = 256;

export interface AppTierArgs extends StackArgs {
  /** `name:tag` of the app image. */
  readonly image: pulumi.Input<string>;
  /** Network nginx reaches the replicas on. */
  readonly frontendNetwork: pulumi.Input<string>;
  /** Network the replicas reach pgpool on. */
  readonly backendNetwork: pulumi.Input<string>;
  /** The app role's password. */
  readonly appPassword: pulumi.Input<string>;
  /** pgpool: the leader starts only once it is healthy. */
  readonly pgpool: Workload;
  /** Number of app containers, 1–`MAX_REPLICAS`; app-0 is the migration leader. @default 3 */
  readonly replicas?: number;
  /**
   * New app containers a start-first roll adds at once (1–`MAX_REPLICAS`): one host rolls the
   * leader alone, then the followers this many at a time, each batch healthy and in nginx
   * before its old containers stop; a swarm's update parallelism. @default 1
   */
  readonly rolloutBatch?: number;
  /** The write API's bearer token, as the file ADMIN_TOKEN_FILE; unset = every write refused. */
  readonly adminToken?: pulumi.Input<string>;
}

/** The environment every container of the app image shares (replicas and the collector). */
export function databaseEnv(): string[] {
  return [
    "DATABASE_HOST=pgpool",
    `DATABASE_PORT=${PGPOOL_PORT}`,
    "DATABASE_NAME=app",
    "DATABASE_USER=app",
    `DATABASE_PASSWORD_FILE=${secretFile("app")}`,
    // The pool the connection budget counts on (the chat's LISTEN client is the last one).
    `DATABASE_POOL_MAX=${CONNECTIONS_PER_APP - 1}`,
  ];
}

/**
 * A roll's batches of replica indexes: the leader alone first (it migrates, followers need the
 * new schema), then the followers `batch` at a time, in index order.
 */
export function rollBatches(replicas: number, batch: number): number[][] {
  const batches: number[][] = [[0]];
  for (let first = 1; first < replicas; first += batch) {
    batches.push(Array.from({ length: Math.min(batch, replicas - first) }, (_, i) => first + i));
  }
  return batches;
}

/**
 * Eight hex digits of a digest of what a replica runs (image, environment, uploaded files): part
 * of its Docker name, so a release (or any change that replaces the container) creates the new
 * container under a new name next to the old one. Secret inputs go into the digest only; 32
 * bits of a SHA-256 over them reveal nothing, so the name itself is not secret.
 */
function generation(parts: pulumi.Input<string>[]): pulumi.Output<string> {
  return digest8(pulumi.all(parts).apply((values) => values.join("\0")));
}

/**
 * The app replicas. `app-0` is the migration leader: it migrates and seeds (under an advisory
 * lock) and is healthy only when that is done; `app-1 … app-(N-1)` start after it, never
 * migrate, and report not ready while the schema is behind what their image ships.
 */
export class AppTier extends pulumi.ComponentResource {
  /**
   * All app containers, leader first; on a swarm the two services: the leader's (`…-app-0`,
   * one task) and the followers' (`…-app`, `replicas - 1` tasks spread over the nodes).
   */
  public readonly containers: Workload[];
  /** Hostnames of the replicas on the stack's networks (`app-0`, …), leader first. */
  public readonly hostnames: string[];
  /** Swarm: the names nginx resolves to every healthy task (`tasks.<service>`). */
  public readonly taskNames: pulumi.Output<string>[];
  /**
   * One host: the handover step of every roll batch, in order (empty on a swarm). The nginx
   * config step runs after the last, so it never races a handover.
   */
  public readonly handovers: command.local.Command[] = [];

  constructor(name: string, args: AppTierArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN}:app:AppTier`, name, {}, opts);
    const replicas = args.replicas ?? 3;
    const batch = args.rolloutBatch ?? 1;
    checkWholeNumber(this, "AppTier replicas", replicas, 1, MAX_REPLICAS);
    checkWholeNumber(this, "AppTier rolloutBatch", batch, 1, MAX_REPLICAS);
    const child = { parent: this };

    this.containers = [];
    this.hostnames = [];
    this.taskNames = [];
    const spec = (index: number): ContainerSpec & { envs: string[] } => {
      const node = `app-${index}`;
      const leader = index === 0;
      const envs = [
        `APP_ROLE=${leader ? "leader" : "follower"}`,
        `REPLICA_INDEX=${index}`,
        `PORT=${APP_PORT}`,
        ...databaseEnv(),
        // The status board's; the stack name never changes, so it never replaces a replica.
        `STACK_NAME=${args.stack}`,
        ...(args.adminToken !== undefined ? [`ADMIN_TOKEN_FILE=${ADMIN_TOKEN_FILE}`] : []),
      ];
      const uploads = [
        secretUpload("app", args.appPassword),
        ...(args.adminToken !== undefined
          ? [secretFileUpload(ADMIN_TOKEN_FILE, args.adminToken)]
          : []),
      ];
      return {
        stack: args.stack,
        name: `${args.prefix}-${node}`,
        role: "app",
        node,
        image: args.image,
        memoryMb: APP_MEMORY_MB,
        user: "app",
        // bash, not node: a probe per replica every 5 s (app/bin/app-healthcheck says why); at
        // 32 replicas and a roll's batch, probes every 3 s took a visible share of 2 cores.
        healthcheck: ["app-healthcheck"],
        healthIntervalSeconds: 5,
        networks: [
          { name: args.frontendNetwork, aliases: [node] },
          { name: args.backendNetwork, aliases: [node] },
        ],
        envs,
        uploads,
        // Graceful shutdown: finish in-flight requests and close sockets before SIGKILL.
        stopTimeoutSeconds: 15,
      };
    };

    if (args.orchestrator === "swarm") {
      this.swarmServices(name, args, spec, replicas, batch);
      this.registerOutputs({ containers: this.containers.map((c) => c.name) });
      return;
    }

    // Batch by batch: a batch's containers start once the previous batch's handover is done
    // (dependsOn), so a roll has at most `batch` new containers beside the old ones. Pulumi
    // itself deletes replaced containers only at the end of the update, which is why the
    // handover step, not Pulumi, stops each batch's old containers.
    let handover: command.local.Command | undefined;
    for (const [k, indexes] of rollBatches(replicas, batch).entries()) {
      const members = indexes.map((index) => {
        const node = `app-${index}`;
        const replica = spec(index);
        const generationOf = generation([
          args.image,
          ...replica.envs,
          ...(replica.uploads ?? []).flatMap((u) => [u.file, u.content]),
        ]);
        const container = new docker.Container(
          `${name}-${node}`,
          {
            ...containerArgs(replica),
            // `ha-stack-dev-app-2-1a2b3c4d`: nginx is told these names (only once each is
            // healthy); `app-2` stays the replica's hostname and network alias.
            name: pulumi.interpolate`${args.prefix}-${node}-${generationOf}`,
          },
          {
            ...child,
            // Start-first: overrides the docker provider's delete-before-replace. The
            // replacement (new name, see `generation`) is created and healthy (wait: true) while
            // the old one serves; the batch's handover then moves traffic and stops the old one.
            deleteBeforeReplace: false,
            // The leader needs pgpool with a writable primary to migrate; followers need the
            // leader's migrations, and the previous batch handed over.
            dependsOn: handover === undefined ? [args.pgpool] : [this.containers[0], handover],
          },
        );
        this.containers.push(container);
        this.hostnames.push(node);
        return container;
      });
      handover = new command.local.Command(
        `${name}-handover-${k}`,
        {
          create: "bash scripts/app-handover.sh",
          environment: {
            STACK: args.stack,
            NODES: indexes.map((i) => `app-${i}`).join(" "),
            KEEP: pulumi.all(members.map((c) => c.name)).apply((names) => names.join(" ")),
            NGINX: `${args.prefix}-nginx`,
            UPSTREAM_SUFFIX: `${APP_PORT} ${SERVER_PARAMS}`,
            STOP_SECONDS: String(spec(0).stopTimeoutSeconds),
          },
          // Runs again whenever a container of the batch is replaced.
          triggers: members.map((c) => c.id),
        },
        // After the batch is healthy, and after the previous batch's handover.
        { ...child, dependsOn: members },
      );
      this.handovers.push(handover);
    }

    this.registerOutputs({ containers: this.containers.map((c) => c.name) });
  }

  /**
   * On a swarm: the leader as a service of one task, then the followers as one replicated
   * service spread over the nodes, updated start-first `batch` tasks at a time and rolled back
   * by Swarm when a new task fails. Followers share `app-1`'s description: on a swarm a task
   * does not know its index, and the app uses REPLICA_INDEX only to name itself.
   */
  private swarmServices(
    name: string,
    args: AppTierArgs,
    spec: (index: number) => ContainerSpec,
    replicas: number,
    batch: number,
  ): void {
    const start = { order: "start-first", parallelism: batch } as const;
    const leaderSpec = spec(0);
    const leader = workload(
      `${name}-app-0`,
      leaderSpec,
      "swarm",
      {
        parent: this,
        dependsOn: [args.pgpool],
      },
      start,
    );
    const followerSpec = spec(1);
    const followers = workload(
      `${name}-app`,
      {
        ...followerSpec,
        name: `${args.prefix}-app`,
        node: "app",
        // Swarm expands these per task: app-1, app-2, … (a slot keeps its number across updates).
        hostname: "app-{{.Task.Slot}}",
        envs: followerSpec.envs?.map((e) =>
          e === "REPLICA_INDEX=1" ? "REPLICA_INDEX={{.Task.Slot}}" : e,
        ),
        networks: followerSpec.networks.map((n) => ({ ...n, aliases: ["app"] })),
      },
      "swarm",
      { parent: this, dependsOn: [leader] },
      { ...start, replicas: replicas - 1, spread: true },
    );
    this.containers.push(leader, followers);
    this.hostnames.push("app-0", "app");
    this.taskNames.push(
      pulumi.interpolate`tasks.${leader.name}`,
      pulumi.interpolate`tasks.${followers.name}`,
    );
  }
}
