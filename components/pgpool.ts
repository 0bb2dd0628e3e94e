import * as pulumi from "@pulumi/pulumi";
import { hostPort, TOKEN, type StackArgs } from "./common";
import { invalid } from "./errors";
import { POSTGRES_PORT, type PostgresNode } from "./postgres-node";
import { pgpoolMemoryMb, renderPgpoolConf, renderPoolHba } from "./render/pgpool";
import { slotName } from "./render/postgres";
import { secretUpload, type PasswordName } from "./secrets";
import { workload, type Workload } from "./workload";

/** Port of pgpool inside the backend network (and the container side of a published port). */
export const PGPOOL_PORT = 9999;

export interface PgpoolArgs extends StackArgs {
  /** `name:tag` of the pgpool image. */
  readonly image: pulumi.Input<string>;
  /** The internal backend network; pgpool answers there to `pgpool`. */
  readonly backendNetwork: pulumi.Input<string>;
  /** Network through which `hostPort` is published; required when `hostPort` is set. */
  readonly dbaccessNetwork?: pulumi.Input<string>;
  /** The passwords pgpool needs: its own, and those of the roles it authenticates. */
  readonly passwords: Record<
    Extract<PasswordName, "postgres" | "app" | "pgpool">,
    pulumi.Input<string>
  >;
  /** The PostgreSQL nodes, primary first: pgpool's backends, and healthy before it starts. */
  readonly backends: readonly PostgresNode[];
  /** pgpool's `num_init_children`: the client sessions it serves at once. */
  readonly children: number;
  /** Host port published to pgpool's port; undefined = not published. @default undefined */
  readonly hostPort?: number;
  /** Host address `hostPort` binds to. @default "127.0.0.1" */
  readonly listenAddress?: string;
}

/**
 * pgpool-II in front of the PostgreSQL pair: balances reads to the standby, sends writes to
 * the primary and promotes the standby when the primary dies. Its container keeps the logical
 * name it had as a child of `Database` (`<name>`), with an alias to that former parent.
 */
export class Pgpool extends pulumi.ComponentResource {
  /** The container, or the service on a swarm (one task, free to move between nodes). */
  public readonly container: Workload;
  /** `host:port` where the host reaches pgpool; undefined when no port is published. */
  public readonly hostEndpoint: string | undefined;

  constructor(name: string, args: PgpoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN}:pgpool:Pgpool`, name, {}, opts);
    if (args.hostPort !== undefined && args.dbaccessNetwork === undefined) {
      throw new pulumi.ResourceError(
        invalid("Pgpool dbaccessNetwork", args.dbaccessNetwork, "a network when hostPort is set"),
        this,
      );
    }
    // Until this component existed, its container was a direct child of its parent.
    const child = { parent: this, aliases: [{ parent: opts?.parent }] };
    const listenAddress = args.listenAddress ?? "127.0.0.1";

    this.container = workload(
      name,
      {
        stack: args.stack,
        name: `${args.prefix}-pgpool`,
        role: "pgpool",
        node: "pgpool",
        image: args.image,
        memoryMb: pgpoolMemoryMb(args.children),
        user: "postgres",
        healthcheck: ["/usr/local/bin/pgpool-healthcheck"],
        networks: [
          { name: args.backendNetwork, aliases: ["pgpool"] },
          ...(args.dbaccessNetwork !== undefined && args.hostPort !== undefined
            ? [{ name: args.dbaccessNetwork, aliases: ["pgpool"] }]
            : []),
        ],
        ports:
          args.hostPort !== undefined
            ? [
                {
                  internal: PGPOOL_PORT,
                  external: args.hostPort,
                  ip: listenAddress,
                  protocol: "tcp",
                },
              ]
            : undefined,
        uploads: [
          {
            file: "/etc/ha-stack/pgpool.conf",
            content: renderPgpoolConf({
              backends: args.backends.map((backend) => ({
                host: backend.hostname,
                port: POSTGRES_PORT,
                name: slotName(backend.hostname),
              })),
              port: PGPOOL_PORT,
              numInitChildren: args.children,
              healthCheckPeriodSeconds: 1,
              healthCheckMaxRetries: 2,
            }),
          },
          { file: "/etc/ha-stack/pool_hba.conf", content: renderPoolHba() },
          secretUpload("postgres", args.passwords.postgres),
          secretUpload("app", args.passwords.app),
          secretUpload("pgpool", args.passwords.pgpool),
        ],
      },
      args.orchestrator,
      {
        ...child,
        // Fixed container name (and maybe a fixed host port).
        deleteBeforeReplace: true,
        // pgpool's healthcheck needs exactly one writable backend, and reads go to the standby.
        dependsOn: args.backends.map((backend) => backend.container),
      },
    );

    this.hostEndpoint =
      args.hostPort !== undefined ? hostPort(listenAddress, args.hostPort) : undefined;
    this.registerOutputs({ container: this.container.name, hostEndpoint: this.hostEndpoint });
  }
}
