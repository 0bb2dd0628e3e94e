import * as pulumi from "@pulumi/pulumi";
import { checkWholeNumber, TOKEN, type StackArgs } from "./common";
import { type BackupSchedule } from "./config";
import {
  MAX_RETENTION_FULL,
  PGBACKREST_CONF,
  renderPgbackrestConf,
  REPO_PATH,
  volumePath,
  type PgNodeName,
} from "./render/pgbackrest";
import { workload, type Workload } from "./workload";

export interface BackupArgs extends StackArgs {
  /** `name:tag` of the postgres image (pgbackrest, pg-backup). */
  readonly image: pulumi.Input<string>;
  /** The backup repository volume (the database nodes archive into it). */
  readonly repository: pulumi.Input<string>;
  /** The data volume of each node, pg-0 first: mounted read-only where the node mounts it. */
  readonly dataVolumes: readonly [pulumi.Input<string>, pulumi.Input<string>];
  /** How often a base backup is taken; `off` = only on demand. @default "daily" */
  readonly schedule?: BackupSchedule;
  /** Full backups kept (with what depends on them), 1–365. @default 2 */
  readonly retentionFull?: number;
  /** What must be healthy first: both database nodes (the stanza needs a primary). */
  readonly after: Workload[];
}

/**
 * The backup container: creates the stanza, takes the scheduled backups (full, then
 * differentials) with pgbackrest from the standby when one streams, expires old ones, and
 * writes the repository's state into the database for the status board. It reaches both nodes
 * through a socket in their data volumes and needs no network; on-demand backups run in it
 * (`npm run backup`). One host only: it mounts both nodes' volumes.
 */
export class Backup extends pulumi.ComponentResource {
  public readonly container: Workload;

  constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN}:backup:Backup`, name, {}, opts);
    const retentionFull = args.retentionFull ?? 2;
    checkWholeNumber(this, "Backup retentionFull", retentionFull, 1, MAX_RETENTION_FULL);
    if (args.orchestrator === "swarm") {
      throw new pulumi.ResourceError(
        "Backup: a swarm has no volume both database nodes and a backup container can mount",
        this,
      );
    }
    const nodes: PgNodeName[] = ["pg-0", "pg-1"];

    this.container = workload(
      `${name}-backup`,
      {
        stack: args.stack,
        name: `${args.prefix}-backup`,
        role: "backup",
        node: "backup",
        image: args.image,
        memoryMb: 256,
        user: "postgres",
        command: ["schedule", args.schedule ?? "daily"],
        healthcheck: ["/usr/local/bin/pg-backup", "alive"],
        healthIntervalSeconds: 10,
        networks: [],
        volumes: [
          { volumeName: args.repository, containerPath: REPO_PATH },
          ...nodes.map((node, i) => ({
            volumeName: args.dataVolumes[i],
            containerPath: volumePath(node),
            readOnly: true,
          })),
        ],
        uploads: [
          {
            file: PGBACKREST_CONF,
            content: renderPgbackrestConf({ role: "backup", retentionFull }),
          },
        ],
        // A backup in progress is interrupted on stop; pgbackrest resumes or restarts it.
        stopTimeoutSeconds: 30,
      },
      args.orchestrator,
      {
        parent: this,
        // Fixed container name.
        deleteBeforeReplace: true,
        // Mounts the nodes' volumes and creates the stanza through the primary's socket.
        dependsOn: args.after,
      },
      {},
      // No network: the nodes' sockets are in the volumes it mounts.
      { entrypoints: ["/usr/local/bin/pg-backup"], networkMode: "none" },
    );

    this.registerOutputs({ container: this.container.name });
  }
}
