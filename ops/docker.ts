// What the drill, the bench and the e2e tests ask the Docker engine: the stack's containers by
// label, exec inside them, addresses on a network. Reads only; the engine is what creates and
// deletes.
import Docker from "dockerode";

export const docker = new Docker();

export interface StackContainer {
  readonly id: string;
  readonly name: string;
  readonly node: string;
  readonly role: string;
  readonly state: string;
  readonly health: string | undefined;
}

/** Every container labelled with the stack, running or not. */
export async function stackContainers(stack: string): Promise<StackContainer[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`ha-stack.stack=${stack}`] },
  });
  const found = await Promise.all(
    list.map(async (c) => {
      let inspect;
      try {
        inspect = await docker.getContainer(c.Id).inspect();
      } catch (error) {
        // Removed between the list and the inspect (a rollout deleting it): not there any more.
        if ((error as { statusCode?: number }).statusCode === 404) return undefined;
        throw error;
      }
      return {
        id: c.Id,
        name: c.Names[0].replace(/^\//, ""),
        node: c.Labels["ha-stack.node"],
        role: c.Labels["ha-stack.role"],
        state: inspect.State.Status,
        health: inspect.State.Health?.Status,
      };
    }),
  );
  return found.filter((c): c is StackContainer => c !== undefined);
}

/** Every host port the stack's containers publish, as "node port hostIp:hostPort", sorted. */
export async function publishedPorts(stack: string): Promise<string[]> {
  const published: string[] = [];
  for (const c of await stackContainers(stack)) {
    const inspect = await docker.getContainer(c.id).inspect();
    for (const [port, bindings] of Object.entries(inspect.NetworkSettings.Ports ?? {})) {
      for (const b of bindings ?? []) published.push(`${c.node} ${port} ${b.HostIp}:${b.HostPort}`);
    }
  }
  return published.sort();
}

/** Runs a command in a container and returns its stdout; throws with stderr on non-zero exit. */
export async function exec(container: string, cmd: string[], user?: string): Promise<string> {
  const run = await docker.getContainer(container).exec({
    Cmd: cmd,
    User: user,
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await run.start({});
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    docker.modem.demuxStream(
      stream,
      { write: (b: Buffer) => stdout.push(b) } as any,
      { write: (b: Buffer) => stderr.push(b) } as any,
    );
    stream.on("end", resolve);
    stream.on("error", reject);
  });
  const { ExitCode } = await run.inspect();
  if (ExitCode !== 0) {
    throw new Error(
      `${cmd.join(" ")} in ${container} exited ${ExitCode}: ${Buffer.concat(stderr).toString()}`,
    );
  }
  return Buffer.concat(stdout).toString();
}

/** Runs SQL as the superuser over the local socket of a PostgreSQL container; rows as arrays. */
export async function psql(container: string, sql: string, database = "app"): Promise<string[][]> {
  const out = await exec(
    container,
    ["psql", "-h", "/var/run/postgresql", "-d", database, "-AtX", "-F", "\t", "-c", sql],
    "postgres",
  );
  return out
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.split("\t"));
}

/** The container's IPv4 address on the network whose name ends with `suffix`. */
export async function addressOn(container: string, suffix: string): Promise<string> {
  const inspect = await docker.getContainer(container).inspect();
  for (const [name, net] of Object.entries(inspect.NetworkSettings.Networks)) {
    if (name.endsWith(suffix)) return net.IPAddress;
  }
  throw new Error(`${container} is not on a network ending in ${suffix}`);
}

/** Container logs (stdout + stderr) as text. */
export async function logs(container: string): Promise<string> {
  const buffer = (await docker
    .getContainer(container)
    .logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  return buffer.toString("utf8");
}

/** Removes every volume labelled with the stack (the data volumes `retainData` keeps). */
export async function removeStackVolumes(stack: string): Promise<void> {
  const volumes = await docker.listVolumes({ filters: { label: [`ha-stack.stack=${stack}`] } });
  for (const v of volumes.Volumes) await docker.getVolume(v.Name).remove();
}
