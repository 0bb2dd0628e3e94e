import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { containerArgs, labels, TOKEN, type Upload, type StackArgs } from "./common";
import { renderPgHba, renderPostgresqlConf } from "./render/postgres";
import { renderPgpoolConf, renderPoolHba } from "./render/pgpool";
import { secretFile, type PasswordName } from "./secrets";

/** Port of PostgreSQL inside the backend network. */
export const POSTGRES_PORT = 5432;
/** Port of pgpool inside the backend network (and the container side of `pgpoolPort`). */
export const PGPOOL_PORT = 9999;
/** Connections one app replica's pool may hold (its pg Pool `max` plus the chat listener). */
export const CONNECTIONS_PER_REPLICA = 6;

const POSTGRES_MEMORY_MB = 512;
/** Seconds a restarted former primary waits for pgpool to decide before it trusts itself. */
const FENCE_WAIT_SECONDS = 10;

export interface DatabaseArgs extends StackArgs {
  /** `name:tag` of the postgres image. */
  readonly postgresImage: pulumi.Input<string>;
  /** `name:tag` of the pgpool image. */
  readonly pgpoolImage: pulumi.Input<string>;
  /** The internal backend network every database container sits on. */
  readonly backendNetwork: pulumi.Input<string>;
  /** Network through which pgpool publishes `pgpoolPort`; required when `pgpoolPort` is set. */
  readonly dbaccessNetwork?: pulumi.Input<string>;
  /** The generated passwords. */
  readonly passwords: Record<PasswordName, pulumi.Input<string>>;
  /** App replicas the pool is sized for. */
  readonly replicas: number;
  /** Commit waits for the standby while one is attached. @default false */
  readonly synchronousReplication?: boolean;
  /** Keep the data volumes on `pulumi destroy`. @default true */
  readonly retainData?: boolean;
  /** Host port for pgpool; undefined = not published. @default undefined */
  readonly pgpoolPort?: number;
  /** Host address `pgpoolPort` binds to. @default "127.0.0.1" */
  readonly listenAddress?: string;
}

/**
 * PostgreSQL primary (`pg-0`) and streaming standby (`pg-1`), each with its own data volume,
 * behind pgpool-II, which balances reads to the standby, sends writes to the primary and
 * promotes the standby when the primary dies. pg-1 starts after pg-0 is healthy and clones it;
 * pgpool starts after both.
 */
export class Database extends pulumi.ComponentResource {
  /** The two PostgreSQL containers: index 0 starts as primary, 1 as standby. */
  public readonly nodes: docker.Container[];
  public readonly pgpool: docker.Container;
  /** How clients inside the backend network reach pgpool. */
  public readonly endpoint: string;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN}:database:Database`, name, {}, opts);
    if (args.pgpoolPort !== undefined && args.dbaccessNetwork === undefined) {
      throw new Error("Database: dbaccessNetwork is required when pgpoolPort is set");
    }

    const numInitChildren = args.replicas * CONNECTIONS_PER_REPLICA + 10;
    const secret = (password: PasswordName): Upload => ({
      file: secretFile(password),
      content: pulumi.secret(args.passwords[password]),
    });

    const nodes: docker.Container[] = [];
    for (const index of [0, 1] as const) {
      const node = `pg-${index}` as const;
      const peer = `pg-${1 - index}`;
      const volume = new docker.Volume(
        `${name}-${node}-data`,
        { name: `${args.prefix}-${node}-data`, labels: labels(args.stack, "data", node) },
        { parent: this, retainOnDelete: args.retainData ?? true },
      );
      const container = new docker.Container(
        `${name}-${node}`,
        {
          ...containerArgs({
            stack: args.stack,
            name: `${args.prefix}-${node}`,
            role: "postgres",
            node,
            image: args.postgresImage,
            memoryMb: POSTGRES_MEMORY_MB,
            user: "postgres",
            healthcheck: ["/usr/local/bin/pg-healthcheck"],
            networks: [{ name: args.backendNetwork, aliases: [node] }],
            envs: [
              `PG_NODE_NAME=${node}`,
              `PG_PEER_HOST=${peer}`,
              `PG_INITIAL_ROLE=${index === 0 ? "primary" : "standby"}`,
              `PG_SYNCHRONOUS=${args.synchronousReplication ? "on" : "off"}`,
              `PG_FENCE_WAIT_SECONDS=${FENCE_WAIT_SECONDS}`,
            ],
            volumes: [{ volumeName: volume.name, containerPath: "/var/lib/postgresql/data" }],
            uploads: [
              {
                file: "/etc/ha-stack/postgresql.conf",
                content: renderPostgresqlConf({
                  nodeName: node,
                  peerHost: peer,
                  synchronousReplication: args.synchronousReplication ?? false,
                  maxConnections: numInitChildren + 20,
                  memoryMb: POSTGRES_MEMORY_MB,
                }),
              },
              { file: "/etc/ha-stack/pg_hba.conf", content: renderPgHba() },
              secret("postgres"),
              secret("replication"),
              secret("app"),
              secret("pgpool"),
            ],
            // A checkpoint on shutdown can take a while; a SIGKILL would force crash recovery.
            stopTimeoutSeconds: 60,
          }),
          // SIGINT is PostgreSQL's "fast" shutdown; SIGTERM ("smart") waits for pgpool's
          // pooled connections to close, which they never do.
          stopSignal: "SIGINT",
        },
        {
          parent: this,
          // Fixed container name.
          deleteBeforeReplace: true,
          // The standby clones the primary with pg_basebackup: the primary must be up first.
          dependsOn: nodes.slice(),
        },
      );
      nodes.push(container);
    }
    this.nodes = nodes;

    const published = args.pgpoolPort !== undefined;
    this.pgpool = new docker.Container(
      `${name}-pgpool`,
      containerArgs({
        stack: args.stack,
        name: `${args.prefix}-pgpool`,
        role: "pgpool",
        node: "pgpool",
        image: args.pgpoolImage,
        memoryMb: 256 + 2 * numInitChildren,
        user: "postgres",
        healthcheck: ["/usr/local/bin/pgpool-healthcheck"],
        networks: [
          { name: args.backendNetwork, aliases: ["pgpool"] },
          ...(published ? [{ name: args.dbaccessNetwork!, aliases: ["pgpool"] }] : []),
        ],
        ports: published
          ? [
              {
                internal: PGPOOL_PORT,
                external: args.pgpoolPort!,
                ip: args.listenAddress ?? "127.0.0.1",
                protocol: "tcp",
              },
            ]
          : undefined,
        uploads: [
          {
            file: "/etc/ha-stack/pgpool.conf",
            content: renderPgpoolConf({
              backends: [0, 1].map((i) => ({
                host: `pg-${i}`,
                port: POSTGRES_PORT,
                name: `pg_${i}`,
              })),
              port: PGPOOL_PORT,
              numInitChildren,
              healthCheckPeriodSeconds: 1,
              healthCheckMaxRetries: 2,
            }),
          },
          { file: "/etc/ha-stack/pool_hba.conf", content: renderPoolHba() },
          secret("postgres"),
          secret("app"),
          secret("pgpool"),
        ],
      }),
      {
        parent: this,
        // Fixed container name (and maybe a fixed host port).
        deleteBeforeReplace: true,
        // pgpool's healthcheck needs exactly one writable backend, and reads go to the standby.
        dependsOn: nodes,
      },
    );

    this.endpoint = `pgpool:${PGPOOL_PORT}`;
    this.registerOutputs({
      nodes: nodes.map((n) => n.name),
      pgpool: this.pgpool.name,
      endpoint: this.endpoint,
    });
  }
}
