import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { labels, TOKEN, type StackArgs } from "./common";

export interface NetworksArgs extends StackArgs {
  /** Also make the `dbaccess` network through which pgpool publishes its host port. @default false */
  readonly publishPgpool?: boolean;
}

/**
 * The stack's networks: `frontend` (nginx and the app replicas), `backend` (app, pgpool and
 * PostgreSQL; internal, so no route out), and `dbaccess` only when pgpool publishes a host port
 * (Docker cannot publish a port of a container that sits only on an internal network).
 */
export class Networks extends pulumi.ComponentResource {
  public readonly frontend: docker.Network;
  public readonly backend: docker.Network;
  public readonly dbaccess: docker.Network | undefined;

  constructor(name: string, args: NetworksArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN}:network:Networks`, name, {}, opts);

    const network = (suffix: string, internal: boolean): docker.Network =>
      new docker.Network(
        `${name}-${suffix}`,
        {
          name: `${args.prefix}-${suffix}`,
          // A swarm's networks span its nodes; `attachable` lets a plain container join one
          // (a one-off psql, a probe) as it can join a bridge network on one host.
          ...(args.orchestrator === "swarm"
            ? { driver: "overlay", attachable: true }
            : { driver: "bridge" }),
          internal,
          labels: labels(args.stack, "network"),
        },
        // A fixed name cannot exist twice: remove the old network before making the new one.
        { parent: this, deleteBeforeReplace: true },
      );

    this.frontend = network("frontend", false);
    this.backend = network("backend", true);
    this.dbaccess = (args.publishPgpool ?? false) ? network("dbaccess", false) : undefined;

    this.registerOutputs({
      frontend: this.frontend.name,
      backend: this.backend.name,
      dbaccess: this.dbaccess?.name,
    });
  }
}
