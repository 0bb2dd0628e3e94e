import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { containerArgs, TOKEN } from "./common";
import { renderNginxConf, renderUpstreams, type LbAlgorithm } from "./render/nginx";

/** Port nginx listens on inside its container (non-root, so above 1024). */
export const NGINX_PORT = 8080;

export interface BalancerArgs {
  /** Stack name, for labels. */
  readonly stack: string;
  /** Prefix of every Docker object name, e.g. `ha-stack-dev`. */
  readonly prefix: string;
  /** `name:tag` of the nginx image. */
  readonly image: pulumi.Input<string>;
  /** Network nginx shares with the app replicas. */
  readonly frontendNetwork: pulumi.Input<string>;
  /** The app containers: nginx starts only when every one is healthy. */
  readonly apps: docker.Container[];
  /** Short names of the app replicas on the frontend network. */
  readonly upstreams: readonly string[];
  /** Port of the app inside its container. */
  readonly upstreamPort: number;
  /** How nginx spreads requests. @default "round_robin" */
  readonly algorithm?: LbAlgorithm;
  /** Host address the published port binds to. @default "127.0.0.1" */
  readonly listenAddress?: string;
  /** Host port. @default 8080 */
  readonly httpPort?: number;
}

/** nginx in front of the app replicas, the only container with a host port (besides an opt-in pgpool port). */
export class Balancer extends pulumi.ComponentResource {
  public readonly container: docker.Container;

  constructor(name: string, args: BalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN}:balancer:Balancer`, name, {}, opts);
    const conf = {
      algorithm: args.algorithm ?? "round_robin",
      upstreams: args.upstreams.map((host) => ({ host, port: args.upstreamPort })),
      listenPort: NGINX_PORT,
    };

    this.container = new docker.Container(
      `${name}-nginx`,
      containerArgs({
        stack: args.stack,
        name: `${args.prefix}-nginx`,
        role: "nginx",
        node: "nginx",
        image: args.image,
        memoryMb: 128,
        user: "www-data",
        healthcheck: ["/usr/local/bin/nginx-healthcheck"],
        networks: [{ name: args.frontendNetwork, aliases: ["nginx"] }],
        ports: [
          {
            internal: NGINX_PORT,
            external: args.httpPort ?? 8080,
            ip: args.listenAddress ?? "127.0.0.1",
            protocol: "tcp",
          },
        ],
        uploads: [
          { file: "/etc/ha-stack/nginx.conf", content: renderNginxConf(conf) },
          { file: "/etc/ha-stack/upstreams", content: renderUpstreams(conf) },
        ],
      }),
      {
        parent: this,
        // Fixed container name and host port.
        deleteBeforeReplace: true,
        // Traffic goes only to replicas that are already healthy.
        dependsOn: args.apps,
      },
    );

    this.registerOutputs({ container: this.container.name });
  }
}
