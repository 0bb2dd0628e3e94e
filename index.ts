// ha-stack: a highly available web stack on one Docker host, or across a Docker Swarm.
// Config is read and validated first; nothing is declared if any value is wrong.
//
// The program is the exported function: Pulumi's Node.js language host calls it (`pulumi up`), and
// the Automation API runs it as an inline program (`npm run up`, ops/stack.ts), afresh each run.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Adminer } from "./components/adminer";
import { AppTier, APP_PORT } from "./components/app";
import { Backup } from "./components/backup";
import { Balancer } from "./components/balancer";
import { Collector } from "./components/collector";
import { readConfig } from "./components/config";
import { hostPort } from "./components/common";
import { Database } from "./components/database";
import { Images, registryAuth } from "./components/images";
import { Networks } from "./components/network";
import { Secrets } from "./components/secrets";

/** The stack's outputs (`pulumi stack output`). */
interface HaStackOutputs {
  /** Where the site answers (on a swarm: the first edge node; every edge node answers). */
  readonly url: string;
  /** The app containers, leader first (on a swarm: the leader's service, then the followers'). */
  readonly replicas: pulumi.Output<string>[];
  /** `host:port` of pgpool on the host when `pgpoolPort` publishes it; absent otherwise. */
  readonly pgpoolEndpoint?: string;
  /** nginx's balancing algorithm. */
  readonly lbAlgorithm: string;
  /** The app role's password, for `psql` through a published pgpool port. Secret. */
  readonly appPassword: pulumi.Output<string>;
  /** The bearer token the app's write API requires (`Authorization: Bearer …`). Secret. */
  readonly adminToken: pulumi.Output<string>;
  /** Where Adminer answers (log in as user `app` with `appPassword`); absent when `adminUi` is false. */
  readonly adminUrl?: string;
}

export = function haStack(): HaStackOutputs {
  const config = readConfig();
  const { stack, prefix, orchestrator } = config;
  const swarm = orchestrator === "swarm";
  // On a swarm the default docker provider is the manager (`docker:host`); the images are built
  // by the engine where Pulumi runs (DOCKER_HOST, or the local socket) and pushed to `registry`.
  const registry = swarm ? config.registry : undefined;
  const builder = registry
    ? new docker.Provider("builder", { registryAuth: [registryAuth(registry)] })
    : undefined;

  const networks = new Networks("net", {
    stack,
    prefix,
    orchestrator,
    publishPgpool: config.pgpoolPort !== undefined,
  });
  const images = new Images("images", {
    prefix,
    baseImage: config.baseImage,
    registry,
    builder,
  });
  const secrets = new Secrets("secrets");

  const database = new Database("db", {
    stack,
    prefix,
    orchestrator,
    swarmNodes: config.databaseNodes as [string, string] | undefined,
    postgresImage: images.names.postgres,
    pgpoolImage: images.names.pgpool,
    backendNetwork: networks.backend.name,
    dbaccessNetwork: networks.dbaccess?.name,
    passwords: secrets.passwords,
    synchronousReplication: config.synchronousReplication,
    retainData: config.retainData,
    pgpoolPort: config.pgpoolPort,
    listenAddress: config.listenAddress,
    connections: config.connections,
    // One host: a repository volume both nodes and the backup container mount.
    backups: swarm
      ? undefined
      : {
          retain: config.retainBackups,
          restoreTo: config.restoreTo,
          restoreFrom: config.restoreFrom,
        },
  });

  if (database.repository) {
    new Backup("backup", {
      stack,
      prefix,
      orchestrator,
      image: images.names.postgres,
      repository: database.repository.name,
      dataVolumes: [database.nodes[0].volumeName, database.nodes[1].volumeName],
      schedule: config.backupSchedule,
      retentionFull: config.backupRetention,
      after: database.nodes.map((node) => node.container),
    });
  }

  const app = new AppTier("app", {
    stack,
    prefix,
    orchestrator,
    image: images.names.app,
    frontendNetwork: networks.frontend.name,
    backendNetwork: networks.backend.name,
    appPassword: secrets.passwords.app,
    adminToken: secrets.adminToken,
    pgpool: database.pgpool.container,
    replicas: config.replicas,
    rolloutBatch: config.rolloutBatch,
  });

  new Balancer("lb", {
    stack,
    prefix,
    orchestrator,
    taskNames: app.taskNames,
    edgeNodes: config.edgeNodes,
    image: images.names.nginx,
    frontendNetwork: networks.frontend.name,
    apps: app.containers,
    after: app.handovers,
    upstreams: app.hostnames,
    upstreamPort: APP_PORT,
    algorithm: config.lbAlgorithm,
    listenAddress: config.listenAddress,
    httpPort: config.httpPort,
  });

  if (config.collectorIntervalSeconds > 0) {
    new Collector("metrics", {
      stack,
      prefix,
      orchestrator,
      image: images.names.app,
      backendNetwork: networks.backend.name,
      appPassword: secrets.passwords.app,
      intervalSeconds: config.collectorIntervalSeconds,
      after: [database.pgpool.container, app.containers[0]],
    });
  }

  const adminer = config.adminUi
    ? new Adminer("admin", {
        stack,
        prefix,
        orchestrator,
        registry,
        builder,
        swarmNode: config.edgeNodes?.[0],
        baseImage: config.baseImage,
        backendNetwork: networks.backend.name,
        pgpool: database.pgpool.container,
        hostPort: config.adminPort,
        listenAddress: config.listenAddress,
      })
    : undefined;

  const pgpoolEndpoint = database.pgpool.hostEndpoint;
  return {
    url: `http://${hostPort(config.edgeNodes?.[0] ?? config.listenAddress, config.httpPort)}/`,
    replicas: app.containers.map((c) => c.name),
    lbAlgorithm: config.lbAlgorithm,
    appPassword: secrets.passwords.app,
    adminToken: secrets.adminToken,
    // Absent rather than undefined: the engine warns about an undefined output.
    ...(pgpoolEndpoint === undefined ? {} : { pgpoolEndpoint }),
    ...(adminer === undefined ? {} : { adminUrl: adminer.url }),
  };
};
