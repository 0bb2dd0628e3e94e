import * as pulumi from "@pulumi/pulumi";
import { databaseEnv } from "./app";
import { checkWholeNumber, TOKEN, type StackArgs } from "./common";
import { secretUpload } from "./secrets";
import { workload, type Workload } from "./workload";

export interface CollectorArgs extends StackArgs {
  /** `name:tag` of the app image (the collector is the same image with another command). */
  readonly image: pulumi.Input<string>;
  /** Network the collector reaches pgpool on. */
  readonly backendNetwork: pulumi.Input<string>;
  /** The app role's password. */
  readonly appPassword: pulumi.Input<string>;
  /** Seconds between samples, 1–3600. */
  readonly intervalSeconds: number;
  /** What must be healthy first: pgpool, and the leader that creates the metrics table. */
  readonly after: Workload[];
}

/** Samples host metrics (load, memory, disk) into the database through pgpool on an interval. */
export class Collector extends pulumi.ComponentResource {
  public readonly container: Workload;

  constructor(name: string, args: CollectorArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN}:collector:Collector`, name, {}, opts);
    const interval = args.intervalSeconds;
    checkWholeNumber(this, "Collector intervalSeconds", interval, 1, 3600);
    const child = { parent: this };

    this.container = workload(
      `${name}-collector`,
      {
        stack: args.stack,
        name: `${args.prefix}-collector`,
        role: "collector",
        node: "collector",
        image: args.image,
        memoryMb: 128,
        user: "app",
        command: ["node", "dist/collector.js"],
        // The collector serves no HTTP; its healthcheck says whether its last sample was written.
        healthcheck: ["node", "dist/collector-healthcheck.js"],
        healthIntervalSeconds: 5,
        networks: [{ name: args.backendNetwork, aliases: ["collector"] }],
        envs: [`COLLECTOR_INTERVAL_SECONDS=${interval}`, ...databaseEnv()],
        uploads: [secretUpload("app", args.appPassword)],
      },
      args.orchestrator,
      {
        ...child,
        // Fixed container name.
        deleteBeforeReplace: true,
        // Writes go through pgpool into the table the leader's migrations create.
        dependsOn: args.after,
      },
    );

    this.registerOutputs({ container: this.container.name });
  }
}
