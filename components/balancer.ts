import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { TOKEN, type ContainerSpec, type StackArgs } from "./common";
import { invalid } from "./errors";
import { renderNginxConf, renderUpstreams, type LbAlgorithm } from "./render/nginx";
import { workload, type Workload } from "./workload";

/** Port nginx listens on inside its container (non-root, so above 1024). */
export const NGINX_PORT = 8080;

export interface BalancerArgs extends StackArgs {
  /** `name:tag` of the nginx image. */
  readonly image: pulumi.Input<string>;
  /** Network nginx shares with the app replicas. */
  readonly frontendNetwork: pulumi.Input<string>;
  /**
   * The app containers: nginx starts only when every one is healthy, and is told their Docker
   * names (unique per container generation), so it never names a replacement before it is healthy.
   */
  readonly apps: Workload[];
  /** Short names of the app replicas (`app-0`, …), one per container of `apps`, same order. */
  readonly upstreams: readonly string[];
  /** Port of the app inside its container. */
  readonly upstreamPort: number;
  /** How nginx spreads requests. @default "round_robin" */
  readonly algorithm?: LbAlgorithm;
  /** Host address the published port binds to. @default "127.0.0.1" */
  readonly listenAddress?: string;
  /** Host port. @default 8080 */
  readonly httpPort?: number;
  /**
   * One host: steps the config push runs after (the app tier's roll handovers, which tell nginx
   * their own upstream lists). @default []
   */
  readonly after?: pulumi.Resource[];
  /** Swarm: the names that resolve to every healthy app task (`tasks.<service>`). */
  readonly taskNames?: pulumi.Input<string>[];
  /** Swarm: one nginx per node here, publishing `httpPort` on it. Required with swarm. */
  readonly edgeNodes?: readonly string[];
}

/**
 * nginx in front of the app replicas, the only container with a host port (besides an opt-in
 * pgpool port). On a swarm: one service per edge node, each publishing `httpPort` on its node,
 * balancing over Swarm DNS's healthy tasks, which the image's entrypoint re-reads every second.
 */
export class Balancer extends pulumi.ComponentResource {
  /** The container; on a swarm the first edge node's service. */
  public readonly container: Workload;
  /** On a swarm: every edge node's service, in `edgeNodes` order. */
  public readonly services: Workload[] = [];
  /** Pushes config changes into the running nginx (one host only; a swarm's follow DNS). */
  public readonly configPush: command.local.Command | undefined;

  constructor(name: string, args: BalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TOKEN}:balancer:Balancer`, name, {}, opts);
    if (args.upstreams.length !== args.apps.length) {
      throw new pulumi.ResourceError(
        invalid(
          "Balancer upstreams.length",
          args.upstreams.length,
          `one short name per app container (${args.apps.length})`,
        ),
        this,
      );
    }
    const algorithm = args.algorithm ?? "round_robin";
    const listenPort = NGINX_PORT;
    const spec = (
      name: string,
      node: string,
      uploads: ContainerSpec["uploads"],
    ): ContainerSpec => ({
      stack: args.stack,
      name,
      role: "nginx",
      node,
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
      uploads,
    });
    if (args.orchestrator === "swarm") {
      const taskNames = args.taskNames ?? [];
      const nginxConf = renderNginxConf({
        algorithm,
        listenPort,
        // Not the count: a new nginx.conf restarts every edge (stop-first), and scaling must not.
        replicas: null,
        upstreams: taskNames.map((_, i) => ({ host: `tasks.app-${i}`, port: args.upstreamPort })),
      });
      const upstreams = pulumi.all(taskNames).apply((hosts) =>
        renderUpstreams({
          algorithm,
          listenPort,
          upstreams: hosts.map((host) => ({ host, port: args.upstreamPort })),
        }),
      );
      let previous: Workload[] = args.apps;
      for (const node of args.edgeNodes ?? []) {
        const service = workload(
          `${name}-nginx-${node}`,
          spec(`${args.prefix}-nginx-${node}`, "nginx", [
            { file: "/etc/ha-stack/nginx.conf", content: nginxConf },
            { file: "/etc/ha-stack/upstreams", content: upstreams },
          ]),
          "swarm",
          // One edge at a time: an update stops a node's nginx before its successor can take
          // the host port, so the other edges serve meanwhile.
          { parent: this, dependsOn: previous },
          { node, order: "stop-first" },
        );
        this.services.push(service);
        previous = [service];
      }
      this.container = this.services[0];
      this.configPush = undefined;
      this.registerOutputs({ services: this.services.map((s) => s.name) });
      return;
    }
    // nginx.conf does not name the replicas; validated here with their short names.
    const nginxConf = renderNginxConf({
      algorithm,
      listenPort,
      upstreams: args.upstreams.map((host) => ({ host, port: args.upstreamPort })),
    });
    // The containers' own names: each resolves only to that container, and the config step
    // below names a new one only after it is healthy (wait: true), an old one until the update
    // ends (Pulumi deletes replaced containers last).
    const upstreams = pulumi.all(args.apps.map((c) => c.name)).apply((hosts) =>
      renderUpstreams({
        algorithm,
        listenPort,
        upstreams: hosts.map((host) => ({ host, port: args.upstreamPort })),
      }),
    );
    const containerName = `${args.prefix}-nginx`;
    const child = { parent: this };

    this.container = workload(
      `${name}-nginx`,
      // The config it starts with; later changes arrive through `configPush` below.
      spec(containerName, "nginx", [
        { file: "/etc/ha-stack/nginx.conf", content: nginxConf },
        { file: "/etc/ha-stack/upstreams", content: upstreams },
      ]),
      "docker",
      {
        ...child,
        // Fixed container name and host port.
        deleteBeforeReplace: true,
        // Traffic goes only to replicas that are already healthy.
        dependsOn: args.apps,
        // uploads force a new container in the docker provider; a scale or algorithm change
        // must not take the site down, so the config is pushed into the running one instead.
        ignoreChanges: ["uploads"],
      },
    );

    // Writes the current config into the running nginx and waits until nginx serves exactly
    // these upstreams (its entrypoint reloads in place). Runs again when the config changes or
    // nginx is replaced (a replaced container starts from the uploads kept in state).
    this.configPush = new command.local.Command(
      `${name}-nginx-config`,
      {
        create: "bash scripts/nginx-push-config.sh",
        environment: { CONTAINER: containerName, NGINX_CONF: nginxConf, UPSTREAMS: upstreams },
        triggers: [this.container.id, nginxConf, upstreams],
      },
      {
        ...child,
        // After every replica is healthy (new ones get traffic only then) and before removed
        // replicas are deleted (Pulumi deletes last), so they are drained before they stop; after
        // the roll's last handover, so the final list is the one nginx keeps.
        dependsOn: [this.container, ...args.apps, ...(args.after ?? [])],
      },
    );

    this.registerOutputs({ container: this.container.name });
  }
}
