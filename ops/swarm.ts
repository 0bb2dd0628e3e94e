// The swarm lab (scripts/swarm-lab.sh) from the host: each node's Docker API, the tasks of a
// service and where they run, and the lab's own commands (stop, kill, start, cut, heal a node).
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { PROGRAM_DIR } from "./stack";

const run = promisify(execFile);

/** The lab's nodes, as `docker node ls` names them: node-1, node-2, node-3. */
export const LAB_NODES = [1, 2, 3] as const;
export type LabNode = (typeof LAB_NODES)[number];

/** A node's address on the lab network (10.213.7.11 …). */
export const nodeAddress = (n: LabNode): string => `10.213.7.1${n}`;
/** A node's Docker API, as `docker:host` takes it. */
export const nodeHost = (n: LabNode): string => `tcp://${nodeAddress(n)}:2375`;
/** A node's Docker engine. */
export const nodeDocker = (n: LabNode): Docker =>
  new Docker({ host: nodeAddress(n), port: 2375, timeout: 15_000 });

/** `scripts/swarm-lab.sh <args>`: up, down, node-stop N, node-kill N, node-start N, node-cut N, … */
export async function lab(args: string[], timeoutMs = 600_000): Promise<string> {
  try {
    const { stdout } = await run(
      "bash",
      [path.join(PROGRAM_DIR, "scripts/swarm-lab.sh"), ...args],
      {
        timeout: timeoutMs,
        maxBuffer: 16 << 20,
      },
    );
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`swarm-lab.sh ${args.join(" ")}: ${e.stderr?.trim() || e.message}`);
  }
}

export interface Task {
  readonly id: string;
  readonly slot: number;
  /** Hostname of the node it runs on (node-1 …). */
  readonly node: string;
  /** running, starting, pending, … */
  readonly state: string;
  readonly containerId: string | undefined;
  readonly image: string;
}

/** The tasks of `service` that Swarm wants running, as `manager` (any reachable manager) sees them. */
export async function tasksOf(manager: Docker, service: string): Promise<Task[]> {
  const [tasks, nodes] = await Promise.all([
    manager.listTasks({
      filters: JSON.stringify({ service: [service], "desired-state": ["running"] }),
    }),
    manager.listNodes(),
  ]);
  const hostname = new Map(nodes.map((n) => [n.ID, n.Description?.Hostname ?? n.ID]));
  return tasks.map((t) => ({
    id: t.ID as string,
    slot: t.Slot as number,
    node: hostname.get(t.NodeID as string) ?? "(unassigned)",
    state: t.Status?.State as string,
    containerId: t.Status?.ContainerStatus?.ContainerID as string | undefined,
    image: t.Spec?.ContainerSpec?.Image as string,
  }));
}

/** The nodes on which `service` has running tasks, sorted, once each. */
export async function nodesOf(manager: Docker, service: string): Promise<string[]> {
  const running = (await tasksOf(manager, service)).filter((t) => t.state === "running");
  return [...new Set(running.map((t) => t.node))].sort();
}

/** Services of a stack (label ha-stack.stack), by name: running/desired tasks. */
export async function serviceReplicas(
  manager: Docker,
  stack: string,
): Promise<Record<string, string>> {
  const services = await manager.listServices({
    filters: JSON.stringify({ label: [`ha-stack.stack=${stack}`] }),
  });
  const result: Record<string, string> = {};
  for (const s of services) {
    const name = s.Spec?.Name as string;
    const desired = s.Spec?.Mode?.Replicated?.Replicas ?? 0;
    const running = (await tasksOf(manager, name)).filter((t) => t.state === "running").length;
    result[name] = `${running}/${desired}`;
  }
  return result;
}
