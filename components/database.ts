import * as pulumi from "@pulumi/pulumi";
import { TOKEN, type StackArgs } from "./common";
import { connectionBudget } from "./connections";
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
    const child = { parent: this };
    // Every client that can exist at once has a pgpool child, and every child a PostgreSQL
    // connection (components/connections.ts); the same for every config, so scaling restarts
    // neither pgpool nor PostgreSQL.
    const { pgpoolChildren: children, maxConnections } = connectionBudget();
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
