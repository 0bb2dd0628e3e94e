import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { labels, TOKEN, type StackArgs } from "./common";
import { stackPrefix } from "./config";
import type { ConnectionBudget } from "./connections";
import { Pgpool } from "./pgpool";
import { PostgresNode } from "./postgres-node";
import { type PasswordName } from "./secrets";
import { type Workload } from "./workload";

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
  /** Commit waits for the standby while one is attached. @default false */
  readonly synchronousReplication?: boolean;
  /** Keep the data volumes on `pulumi destroy`. @default true */
  readonly retainData?: boolean;
  /** Host port for pgpool; undefined = not published. @default undefined */
  readonly pgpoolPort?: number;
  /** Host address `pgpoolPort` binds to. @default "127.0.0.1" */
  readonly listenAddress?: string;
  /** pgpool's children and PostgreSQL's max_connections (components/connections.ts). */
  readonly connections: ConnectionBudget;
  /** Swarm: the nodes pg-0 and pg-1 run on. Required with swarm. */
  readonly swarmNodes?: readonly [string, string];
  /**
   * A backup repository volume both nodes archive WAL into (one host only), and what pg-0
   * restores from on its first start. Unset = no archive. @default undefined
   */
  readonly backups?: DatabaseBackupArgs;
}

export interface DatabaseBackupArgs {
  /** Keep the repository volume on `pulumi destroy`. @default true */
  readonly retain?: boolean;
  /** Restore pg-0's empty volume to this target (`latest` or a UTC time). @default undefined */
  readonly restoreTo?: string;
  /** The stack whose repository to restore from. @default this stack */
  readonly restoreFrom?: string;
}

/** Name of a stack's backup repository volume. */
export function repositoryVolumeName(prefix: string): string {
  return `${prefix}-backups`;
}

/**
 * PostgreSQL primary (`pg-0`) and streaming standby (`pg-1`) behind pgpool-II. pg-1 starts
 * after pg-0 is healthy and clones it; pgpool starts after both.
 */
export class Database extends pulumi.ComponentResource {
  /** The two PostgreSQL nodes: index 0 starts as primary, 1 as standby. */
  public readonly nodes: PostgresNode[];
  public readonly pgpool: Pgpool;
  /** The backup repository volume; undefined without backups. */
  public readonly repository: docker.Volume | undefined;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN}:database:Database`, name, {}, opts);
    const child = { parent: this };
    // Every client that can exist at once has a pgpool child, and every child a PostgreSQL
    // connection (components/connections.ts); sized by maxReplicas, not replicas, so scaling
    // restarts neither pgpool nor PostgreSQL.
    const { pgpoolChildren: children, maxConnections } = args.connections;

    const backups = args.backups;
    if (backups !== undefined && args.orchestrator === "swarm") {
      throw new pulumi.ResourceError("Database backups: single-host only (not on a swarm)", this);
    }
    this.repository =
      backups === undefined
        ? undefined
        : new docker.Volume(
            `${name}-backups`,
            { name: repositoryVolumeName(args.prefix), labels: labels(args.stack, "backups") },
            // Like the data volumes, and apart from them: backups outlive the data by default.
            { ...child, retainOnDelete: backups.retain ?? true },
          );
    const restore =
      backups?.restoreTo === undefined || this.repository === undefined
        ? undefined
        : {
            target: backups.restoreTo,
            repository:
              backups.restoreFrom === undefined
                ? this.repository.name
                : repositoryVolumeName(stackPrefix(backups.restoreFrom)),
          };
    const node = (index: 0 | 1, after: Workload[]): PostgresNode =>
      new PostgresNode(
        `${name}-pg-${index}`,
        {
          stack: args.stack,
          prefix: args.prefix,
          orchestrator: args.orchestrator,
          swarmNode: args.swarmNodes?.[index],
          index,
          image: args.postgresImage,
          backendNetwork: args.backendNetwork,
          passwords: args.passwords,
          maxConnections,
          synchronousReplication: args.synchronousReplication,
          retainData: args.retainData,
          after,
          backupRepository: this.repository?.name,
          restore: index === 0 ? restore : undefined,
        },
        child,
      );
    const primary = node(0, []);
    const standby = node(1, [primary.container]);
    this.nodes = [primary, standby];

    this.pgpool = new Pgpool(
      `${name}-pgpool`,
      {
        stack: args.stack,
        prefix: args.prefix,
        orchestrator: args.orchestrator,
        image: args.pgpoolImage,
        backendNetwork: args.backendNetwork,
        dbaccessNetwork: args.dbaccessNetwork,
        passwords: args.passwords,
        backends: this.nodes,
        children,
        hostPort: args.pgpoolPort,
        listenAddress: args.listenAddress,
      },
      child,
    );

    this.registerOutputs({
      nodes: this.nodes.map((n) => n.container.name),
      pgpool: this.pgpool.container.name,
    });
  }
}
