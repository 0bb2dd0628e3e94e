// The swarm lab (scripts/swarm-lab.sh) from the host: each node's Docker API, the tasks of a
// service and where they run, and the lab's own commands (stop, kill, start, cut, heal a node).
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { createUser, get, LoadLoop } from "./http";
import { waitFor } from "./poll";
import { getInfo } from "./rollout";
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

/**
 * The config of a stack on the lab: the provider on node `manager`'s API, images through the lab
 * registry (127.0.0.1:5055 on the host and on every node), pg-0 on node-1 and pg-1 on node-2,
 * nginx on all three, synchronous replication, no collector (two cores for three nodes).
 */
export function labStackConfig(manager: LabNode): Record<string, string> {
  return {
    orchestrator: "swarm",
    registry: "127.0.0.1:5055",
    databaseNodes: "node-1,node-2",
    edgeNodes: "node-1,node-2,node-3",
    replicas: "3",
    synchronousReplication: "true",
    collectorIntervalSeconds: "0",
    "docker:host": nodeHost(manager),
  };
}

/** The stack's URL through node `n`'s nginx. */
export const edge = (n: LabNode, port = 8080): string => `http://${nodeAddress(n)}:${port}/`;

/** Steady GET /api/info through node `n`'s nginx, bounded (at most 10 minutes). */
export const edgeLoad = (n: LabNode, ratePerSecond = 20): LoadLoop =>
  new LoadLoop(() => getInfo(edge(n)), {
    ratePerSecond,
    maxRequests: ratePerSecond * 600,
    maxSeconds: 600,
  });

/** POST /api/users through node `n`'s nginx with the stack's admin token; the new id, or throws. */
export const postUser = (n: LabNode, token: string, name: string): Promise<number> =>
  createUser(edge(n), token, name);

export interface PoolNode {
  readonly hostname: string;
  readonly status: string;
  readonly role: string;
  readonly pg_role: string;
  readonly replication_sync_state: string;
}

/** pgpool's view of the pair (SHOW pool_nodes), as the status board reads it through `n`'s edge. */
export async function poolNodes(n: LabNode): Promise<PoolNode[]> {
  const status = (await get(`${edge(n)}api/status`, { timeoutMs: 10_000 })).json<{
    poolNodes: { ok: boolean; value: PoolNode[] };
  }>();
  if (!status.poolNodes.ok) throw new Error("the status board could not read pgpool");
  return status.poolNodes.value;
}

/** The role pgpool gives `host`, if it is up. */
export const roleOf = (nodes: readonly PoolNode[], host: string): string | undefined =>
  nodes.find((p) => p.hostname === host && p.status === "up")?.role;

/** Waits until pgpool (read through `n`'s edge) has `primary` up as primary and `standby` up as standby. */
export async function waitPair(
  n: LabNode,
  primary: string,
  standby: string,
  timeoutMs: number,
): Promise<void> {
  await waitFor(
    `${primary} primary and ${standby} standby, both up`,
    async () => {
      // Thrown, so that a timeout names what pgpool (or the status board) said last.
      const nodes = await poolNodes(n);
      if (roleOf(nodes, primary) === "primary" && roleOf(nodes, standby) === "standby") return true;
      throw new Error(
        `pgpool's view: ${nodes.map((p) => `${p.hostname} ${p.status} ${p.role}`).join(", ")}`,
      );
    },
    timeoutMs,
    1_000,
  );
}

/** Steady user writes (5/s, bounded) through node `n`'s edge; `acked` holds every id answered 201. */
export function ackedWrites(
  n: LabNode,
  token: string,
  tag: string,
): { loop: LoadLoop; acked: number[] } {
  const acked: number[] = [];
  let count = 0;
  const loop = new LoadLoop(
    async () => {
      const id = await postUser(n, token, `${tag}-${count++}`);
      acked.push(id);
      return id;
    },
    { ratePerSecond: 5, maxRequests: 3_000, maxSeconds: 600 },
  );
  return { loop, acked };
}

/** The ids among `ids` that GET /api/users/<id> through node `n`'s edge does not find. */
export async function missingUsers(n: LabNode, ids: readonly number[]): Promise<number[]> {
  const missing: number[] = [];
  for (const id of ids) {
    // A connection cut just after a failover is no answer: ask again (a 404 is an answer).
    const answer = await waitFor(
      `an answer for user ${id}`,
      () => get(`${edge(n)}api/users/${id}`, { timeoutMs: 10_000 }),
      30_000,
      1_000,
    );
    if (answer.status !== 200) missing.push(id);
  }
  return missing;
}
