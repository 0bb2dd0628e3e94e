import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { checkWholeNumber, hostPort, labels, TOKEN, type StackArgs } from "./common";
import { localImage } from "./images";
import { PGPOOL_PORT } from "./pgpool";
import { workload, type Workload } from "./workload";

/** Port PHP's web server listens on inside the Adminer container. */
export const ADMINER_PORT = 8080;
const ADMINER_MEMORY_MB = 256;

export interface AdminerArgs extends StackArgs {
  /** Image the Dockerfile builds FROM (build arg BASE_IMAGE). */
  readonly baseImage: string;
  /** The internal backend network; Adminer reaches pgpool there. */
  readonly backendNetwork: pulumi.Input<string>;
  /** pgpool: Adminer starts only once it is healthy. */
  readonly pgpool: Workload;
  /** Host port Adminer is published on, 1–65535. */
  readonly hostPort: number;
  /** Host address the port binds to. @default "127.0.0.1" */
  readonly listenAddress?: string;
  /** Directory holding the build context `adminer/`. @default the program's directory */
  readonly rootDir?: string;
  /** Where the image is pushed (swarm); unset = built locally only. */
  readonly registry?: string;
  /** The engine that builds the image; unset = the default docker provider. */
  readonly builder?: docker.Provider;
  /** Swarm: the node Adminer runs on and publishes `hostPort` on. Required with swarm. */
  readonly swarmNode?: string;
}

/**
 * Adminer, the web UI onto the app database (what mongo-express is to MongoDB): Debian's
 * package served by PHP's built-in server, connecting only to pgpool (the login form asks for
 * a username and a password; there is no account of its own and no `trust` anywhere). It sits
 * on the internal backend network plus a network of its own, `admin`, through which its one
 * port is published on `listenAddress:hostPort` (Docker publishes nothing of a container that
 * is only on an internal network).
 */
export class Adminer extends pulumi.ComponentResource {
  public readonly container: Workload;
  /** `http://host:port/` where a browser reaches Adminer. */
  public readonly url: string;

  constructor(name: string, args: AdminerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN}:adminer:Adminer`, name, {}, opts);
    checkWholeNumber(this, "Adminer hostPort", args.hostPort, 1, 65535);
    const child = { parent: this };
    const listenAddress = args.listenAddress ?? "127.0.0.1";

    // Built here rather than in Images: no Adminer, no image.
    const image = localImage(
      `${name}-image`,
      {
        prefix: args.prefix,
        baseImage: args.baseImage,
        rootDir: args.rootDir ?? path.resolve(__dirname, ".."),
        kind: "adminer",
        registry: args.registry,
        builder: args.builder,
      },
      this,
    );

    const network = new docker.Network(
      `${name}-network`,
      {
        name: `${args.prefix}-admin`,
        ...(args.orchestrator === "swarm"
          ? { driver: "overlay", attachable: true }
          : { driver: "bridge" }),
        internal: false,
        labels: labels(args.stack, "network"),
      },
      // A fixed name cannot exist twice: remove the old network before making the new one.
      { ...child, deleteBeforeReplace: true },
    );

    this.container = workload(
      `${name}-adminer`,
      {
        stack: args.stack,
        name: `${args.prefix}-adminer`,
        role: "adminer",
        node: "adminer",
        image,
        memoryMb: ADMINER_MEMORY_MB,
        user: "www-data",
        healthcheck: ["/usr/local/bin/adminer-healthcheck"],
        healthIntervalSeconds: 5,
        networks: [
          { name: args.backendNetwork, aliases: ["adminer"] },
          { name: network.name, aliases: ["adminer"] },
        ],
        envs: [`ADMINER_SERVER=pgpool:${PGPOOL_PORT}`, "ADMINER_DATABASE=app"],
        ports: [
          { internal: ADMINER_PORT, external: args.hostPort, ip: listenAddress, protocol: "tcp" },
        ],
      },
      args.orchestrator,
      {
        ...child,
        // Fixed container name and host port.
        deleteBeforeReplace: true,
        // Every login goes through pgpool.
        dependsOn: [args.pgpool],
      },
      // A host-mode port on one node: stop-first.
      { node: args.swarmNode, order: "stop-first" },
    );

    this.url = `http://${hostPort(args.swarmNode ?? listenAddress, args.hostPort)}/`;
    this.registerOutputs({ container: this.container.name, url: this.url });
  }
}
