import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { labels, TOKEN, type StackArgs } from "./common";
import {
  dataPath,
  PGBACKREST_CONF,
  renderPgbackrestConf,
  REPO_PATH,
  volumePath,
} from "./render/pgbackrest";
import { renderPgHba, renderPostgresqlConf } from "./render/postgres";
import { PASSWORDS, secretUpload, type PasswordName } from "./secrets";
import { workload, type Workload } from "./workload";

/** Port of PostgreSQL inside the backend network. */
export const POSTGRES_PORT = 5432;

const POSTGRES_MEMORY_MB = 512;
/** Seconds a restarted former primary waits for pgpool to decide before it trusts itself. */
const FENCE_WAIT_SECONDS = 10;
/**
 * Seconds a restarted former primary asks for its peer before it concludes the peer is gone and
 * starts as primary. One host: an unreachable peer is a stopped one. A swarm node that has just
 * come back reaches the other node over the overlay only after a while (seen: longer than the
 * three one-host tries), and starting as primary then would leave it detached in pgpool.
 */
const PEER_WAIT_SECONDS = { docker: 3, swarm: 90 } as const;

export interface PostgresNodeArgs extends StackArgs {
  /** Which of the pair: `pg-0` starts as primary, `pg-1` as the standby that clones it. */
  readonly index: 0 | 1;
  /** `name:tag` of the postgres image. */
  readonly image: pulumi.Input<string>;
  /** The internal backend network; the node answers there to its hostname. */
  readonly backendNetwork: pulumi.Input<string>;
  /** The generated passwords; the node creates every role at initdb. */
  readonly passwords: Record<PasswordName, pulumi.Input<string>>;
  /** PostgreSQL's `max_connections`. */
  readonly maxConnections: number;
  /** Commit waits for the standby while one is attached. @default false */
  readonly synchronousReplication?: boolean;
  /** Keep the data volume on `pulumi destroy`. @default true */
  readonly retainData?: boolean;
  /** What must be healthy first (the standby clones the primary). @default [] */
  readonly after?: Workload[];
  /** Swarm: the node this one runs on (its data volume lives there). Required with swarm. */
  readonly swarmNode?: string;
  /**
   * Name of the backup repository volume: the node mounts it and archives WAL into it while
   * it is primary. Unset = no archive (a swarm). @default undefined
   */
  readonly backupRepository?: pulumi.Input<string>;
  /**
   * pg-0 only: restore its empty data volume from a backup repository before its first start
   * (README, "Backups and restore"). @default undefined (a new cluster: initdb)
   */
  readonly restore?: RestoreArgs;
}

/** What `restoreTo` and `restoreFrom` ask for. */
export interface RestoreArgs {
  /** `latest`, or a UTC time as config.ts returns it (`2026-12-03T06:00:00.000Z`). */
  readonly target: string;
  /** The repository volume to restore from (this stack's own, or `restoreFrom`'s). */
  readonly repository: pulumi.Input<string>;
}

/**
 * One PostgreSQL node of the streaming-replication pair: its data volume and its container.
 * Its children keep the logical names they had as children of `Database` (`<name>-data`,
 * `<name>`), with an alias to that former parent, so existing stacks keep their data and
 * containers across the split.
 */
export class PostgresNode extends pulumi.ComponentResource {
  /** Hostname on the backend network (`pg-0`, `pg-1`). */
  public readonly hostname: string;
  /** The data volume; on a swarm it is made by Docker on the pinned node, not declared here. */
  public readonly volume: docker.Volume | undefined;
  /** The container, or the service on a swarm. */
  public readonly container: Workload;
  /** The data volume's name (the volume's own output on one host). */
  public readonly volumeName: pulumi.Output<string>;

  constructor(name: string, args: PostgresNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN}:postgres:PostgresNode`, name, {}, opts);
    const node = `pg-${args.index}` as const;
    const peer = `pg-${1 - args.index}`;
    // Until this component existed, its children were direct children of its parent.
    const child = { parent: this, aliases: [{ parent: opts?.parent }] };

    this.hostname = node;
    const swarm = args.orchestrator === "swarm";
    const volumeName = `${args.prefix}-${node}-data`;
    // On a swarm a volume is local to the node of the task that mounts it: Docker creates it
    // there when the pinned task first starts, and keeps it when the service goes.
    this.volume = swarm
      ? undefined
      : new docker.Volume(
          `${name}-data`,
          { name: volumeName, labels: labels(args.stack, "data", node) },
          { ...child, retainOnDelete: args.retainData ?? true },
        );
    this.volumeName = this.volume?.name ?? pulumi.output(volumeName);
    // The restore runs once, into the empty volume, before the container first starts: a target
    // the repository cannot reach fails the `up` here, and pg-0 is never created.
    const restore =
      args.restore && this.volume && args.backupRepository !== undefined
        ? new command.local.Command(
            `${name}-restore`,
            {
              create: "bash scripts/pg-restore.sh",
              // An image or config change later must not run it again (it would find data).
              update: "echo 'pg-restore: restored at creation; nothing to do'",
              environment: {
                IMAGE: args.image,
                DATA_VOLUME: this.volume.name,
                MOUNT: volumePath(node),
                REPOSITORY: args.restore.repository,
                OWN_REPOSITORY: args.backupRepository ?? "",
                TARGET: args.restore.target,
              },
              // Another target or repository is another restore (which refuses a volume with data).
              triggers: [args.restore.target, args.restore.repository],
            },
            { ...child, dependsOn: [this.volume] },
          )
        : undefined;

    this.container = workload(
      name,
      {
        stack: args.stack,
        name: `${args.prefix}-${node}`,
        role: "postgres",
        node,
        image: args.image,
        memoryMb: POSTGRES_MEMORY_MB,
        user: "postgres",
        healthcheck: ["/usr/local/bin/pg-healthcheck"],
        networks: [{ name: args.backendNetwork, aliases: [node] }],
        envs: [
          `PG_NODE_NAME=${node}`,
          `PG_PEER_HOST=${peer}`,
          `PG_INITIAL_ROLE=${args.index === 0 ? "primary" : "standby"}`,
          `PG_SYNCHRONOUS=${args.synchronousReplication ? "on" : "off"}`,
          `PG_FENCE_WAIT_SECONDS=${FENCE_WAIT_SECONDS}`,
          `PG_PEER_WAIT_SECONDS=${PEER_WAIT_SECONDS[args.orchestrator ?? "docker"]}`,
          // A path of its own per node: the backup container mounts both volumes as they are.
          `PGDATA=${dataPath(node)}`,
        ],
        volumes: [
          { volumeName: this.volume?.name ?? volumeName, containerPath: volumePath(node) },
          ...(args.backupRepository === undefined
            ? []
            : [{ volumeName: args.backupRepository, containerPath: REPO_PATH }]),
        ],
        uploads: [
          {
            file: "/etc/ha-stack/postgresql.conf",
            content: renderPostgresqlConf({
              nodeName: node,
              peerHost: peer,
              synchronousReplication: args.synchronousReplication ?? false,
              maxConnections: args.maxConnections,
              memoryMb: POSTGRES_MEMORY_MB,
              archive: args.backupRepository !== undefined,
            }),
          },
          ...(args.backupRepository === undefined
            ? []
            : [{ file: PGBACKREST_CONF, content: renderPgbackrestConf({ role: "node", node }) }]),
          { file: "/etc/ha-stack/pg_hba.conf", content: renderPgHba() },
          ...PASSWORDS.map((password) => secretUpload(password, args.passwords[password])),
        ],
        // A checkpoint on shutdown can take a while; a SIGKILL would force crash recovery.
        stopTimeoutSeconds: 60,
        // SIGINT is PostgreSQL's "fast" shutdown; SIGTERM ("smart") waits for pgpool's
        // pooled connections to close, which they never do.
        stopSignal: "SIGINT",
      },
      args.orchestrator,
      {
        ...child,
        // Fixed container name.
        deleteBeforeReplace: true,
        // The standby clones the primary with pg_basebackup: the primary must be up first;
        // a restored pg-0 starts from what the restore wrote.
        dependsOn: [...(args.after ?? []), ...(restore ? [restore] : [])],
      },
      // One task, on its node, with its volume: stop the old before the new mounts the data.
      { node: args.swarmNode, order: "stop-first" },
    );

    this.registerOutputs({ container: this.container.name, volume: volumeName });
  }
}
