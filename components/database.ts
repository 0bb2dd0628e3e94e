import * as pulumi from "@pulumi/pulumi";
import { checkWholeNumber, TOKEN, type StackArgs } from "./common";
import { MAX_REPLICAS } from "./config";
import { Pgpool } from "./pgpool";
import { PostgresNode } from "./postgres-node";
import { type PasswordName } from "./secrets";
import { type Workload } from "./workload";

/** Connections one app replica's pool may hold (its pg Pool `max` plus the chat listener). */
export const CONNECTIONS_PER_REPLICA = 6;

/**
 * App containers per replica at the peak of a rollout: replacements are start-first, so every
 * new container is up and connected before any old one is deleted (README, "Operations").
 */
export const ROLLOUT_SURGE = 2;

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
  /**
   * Most app replicas the stack allows (1–`MAX_REPLICAS`): pgpool's children and PostgreSQL's
   * `max_connections` are sized for this many during a rollout (`ROLLOUT_SURGE` containers
   * each), so scaling up to it restarts neither and a rollout at it finds a child for every
   * connection.
   */
  readonly maxAppReplicas: number;
  /** Commit waits for the standby while one is attached. @default false */
  readonly synchronousReplication?: boolean;
  /** Keep the data volumes on `pulumi destroy`. @default true */
  readonly retainData?: boolean;
  /** Host port for pgpool; undefined = not published. @default undefined */
  readonly pgpoolPort?: number;
  /** Host address `pgpoolPort` binds to. @default "127.0.0.1" */
  readonly listenAddress?: string;
  /** Swarm: the nodes pg-0 and pg-1 run on. Required with swarm. */
  readonly swarmNodes?: readonly [string, string];
}

/**
 * PostgreSQL primary (`pg-0`) and streaming standby (`pg-1`) behind pgpool-II. pg-1 starts
 * after pg-0 is healthy and clones it; pgpool starts after both.
 */
export class Database extends pulumi.ComponentResource {
  /** The two PostgreSQL nodes: index 0 starts as primary, 1 as standby. */
  public readonly nodes: PostgresNode[];
  public readonly pgpool: Pgpool;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN}:database:Database`, name, {}, opts);
    checkWholeNumber(this, "Database maxAppReplicas", args.maxAppReplicas, 1, MAX_REPLICAS);
    const child = { parent: this };
    // Old and new containers of every replica hold their pools at once during a rollout; a
    // client finding no free child waits in pgpool's queue and its connect times out (5 s).
    const children = ROLLOUT_SURGE * args.maxAppReplicas * CONNECTIONS_PER_REPLICA + 10;

    // PostgreSQL's max_connections: every pgpool child, plus headroom for admin sessions.
    const maxConnections = children + 20;
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
