// Finding a running stack for the drill: its containers by their labels, where the host reaches
// nginx and pgpool, and the app role's password.
import { addressOn, docker, exec, stackContainers } from "../docker";

/** What the drills need to reach a running stack. */
export interface DrillTarget {
  readonly stack: string;
  /** Docker container name by node (`pg-0`, `pgpool`, `app-1`, `nginx`, …). */
  readonly containers: Readonly<Record<string, string>>;
  /** nginx's published URL, ending in `/`. */
  readonly url: string;
  /** Where the host reaches pgpool: the published `pgpoolPort`, else its backend address. */
  readonly pgpool: { readonly host: string; readonly port: number };
  /** The app role's password (read from the pgpool container's secret file). */
  readonly appPassword: string;
}

/**
 * Finds a stack's containers by their labels (`ha-stack.stack`, `ha-stack.node`), however the
 * stack was brought up (`pulumi up`, `npm run up`, the tests).
 */
export async function findTarget(stack: string): Promise<DrillTarget> {
  const found = await stackContainers(stack);
  const containers: Record<string, string> = {};
  for (const c of found) if (c.node) containers[c.node] = c.name;
  const missing = ["pg-0", "pg-1", "pgpool", "app-0", "nginx"].filter((n) => !containers[n]);
  if (missing.length > 0) {
    throw new Error(
      `stack "${stack}": no container labelled ha-stack.node=${missing.join(", ")} ` +
        `(found: ${Object.keys(containers).sort().join(", ") || "none"}); is the stack up?`,
    );
  }
  const nginx = await docker.getContainer(containers.nginx).inspect();
  const httpBinding = nginx.NetworkSettings.Ports?.["8080/tcp"]?.[0];
  if (httpBinding === undefined) throw new Error(`${containers.nginx} publishes no port 8080`);
  const pgpool = await docker.getContainer(containers.pgpool).inspect();
  const pgBinding = pgpool.NetworkSettings.Ports?.["9999/tcp"]?.[0];
  const pgpoolAddress =
    pgBinding !== undefined
      ? { host: hostOf(pgBinding.HostIp), port: Number(pgBinding.HostPort) }
      : // The host routes to the backend network (internal means no route *out*).
        { host: await addressOn(containers.pgpool, "-backend"), port: 9999 };
  const appPassword = (await exec(containers.pgpool, ["cat", "/run/secrets/app-password"])).split(
    "\n",
  )[0];
  return {
    stack,
    containers,
    url: `http://${hostOf(httpBinding.HostIp)}:${httpBinding.HostPort}/`,
    pgpool: pgpoolAddress,
    appPassword,
  };
}

function hostOf(bindAddress: string): string {
  if (bindAddress === "" || bindAddress === "0.0.0.0") return "127.0.0.1";
  if (bindAddress === "::") return "[::1]";
  return bindAddress.includes(":") ? `[${bindAddress}]` : bindAddress;
}
