// Crashing a container the way a real fault does. A crash is SIGKILL of the container's server
// process (PostgreSQL's postmaster, pgpool, node, nginx's master), sent from the Docker host: the
// container exits and Docker's restart policy starts it again, as after a real crash. (`docker
// kill` would not do: Docker 20.10 records it as a manual stop, and `unless-stopped` then leaves
// the container down.) So this code must run on the Docker host, as root.
import * as fs from "node:fs";
import { docker } from "../docker";
import { poll } from "../poll";

/** The server process of each role, by its command name. */
const SERVER_PROCESS: Record<string, string> = {
  postgres: "postgres",
  pgpool: "pgpool",
  app: "node",
  collector: "node",
  nginx: "nginx",
};

export interface Crash {
  readonly container: string;
  /** Host pid and command name of the process killed. */
  readonly pid: number;
  readonly command: string;
  /** Date.now() when SIGKILL was sent. */
  readonly at: number;
  /** Docker's StartedAt before the crash: a later value means the container was restarted. */
  readonly startedBefore: string;
}

/**
 * SIGKILLs the container's server process from the host (the shallowest process with the role's
 * command name under the container's init): the container exits as after a crash, and its
 * restart policy applies.
 */
export async function crash(container: string): Promise<Crash> {
  const inspect = await docker.getContainer(container).inspect();
  if (!inspect.State.Running) throw new Error(`${container} is not running`);
  const role = inspect.Config.Labels?.["ha-stack.role"] ?? "";
  const wanted = SERVER_PROCESS[role];
  if (wanted === undefined)
    throw new Error(`${container}: no server process known for role "${role}"`);
  const root = inspect.State.Pid;
  if (!fs.existsSync(`/proc/${root}`)) {
    throw new Error(
      `process ${root} of ${container} is not visible in /proc: run this on the Docker host as root`,
    );
  }
  const processes = hostProcesses();
  // Breadth first from the container's init: the first match is the server's main process.
  let level = [root];
  for (let depth = 0; depth < 5 && level.length > 0; depth++) {
    const match = level.find((pid) => processes.get(pid)?.comm === wanted);
    if (match !== undefined) {
      const at = Date.now();
      process.kill(match, "SIGKILL");
      return { container, pid: match, command: wanted, at, startedBefore: inspect.State.StartedAt };
    }
    level = [...processes.entries()].filter(([, p]) => level.includes(p.ppid)).map(([pid]) => pid);
  }
  throw new Error(`${container}: no "${wanted}" process under its init (host pid ${root})`);
}

/** pid → parent pid and command name, from the host's /proc. */
function hostProcesses(): Map<number, { ppid: number; comm: string }> {
  const result = new Map<number, { ppid: number; comm: string }>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid …"; comm may hold spaces and parentheses.
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    const ppid = Number(stat.slice(close + 2).split(" ")[1]);
    result.set(Number(entry), { ppid, comm: stat.slice(open + 1, close) });
  }
  return result;
}

/**
 * Waits until Docker has started the container again after `crashed` and reports it healthy;
 * returns Date.now() then, or undefined if that did not happen within `timeoutMs`.
 */
export async function waitRestartedHealthy(
  crashed: Crash,
  timeoutMs: number,
): Promise<number | undefined> {
  return poll(async () => {
    const { State } = await docker.getContainer(crashed.container).inspect();
    return State.Running &&
      State.StartedAt !== crashed.startedBefore &&
      State.Health?.Status === "healthy"
      ? Date.now()
      : undefined;
  }, timeoutMs);
}
