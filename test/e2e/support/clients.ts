// Clients from distinct subnets, for ip_hash and consistent_hash: test-made bridge networks
// that nginx joins. The host owns each network's gateway address, so a request from the host to
// nginx's address on network k leaves from gateway k: one client address per network, each in
// its own /16 (Docker's default pools), so nginx's ip_hash (first three octets) tells them apart.
import * as http from "node:http";
import { docker } from "../../../ops/docker";

export interface Client {
  /** Network name (made by the test, labelled ha-stack.test=<stack>). */
  readonly network: string;
  /** The client's own address (the network's gateway, on this host). */
  readonly address: string;
  /** nginx's address on that network: where this client sends requests. */
  readonly target: string;
}

/** Makes `count` client networks and connects the stack's nginx to each. */
export async function clientNetworks(
  stack: string,
  nginxContainer: string,
  count: number,
): Promise<Client[]> {
  const clients: Client[] = [];
  for (let i = 0; i < count; i++) {
    const name = `hs-client-${stack}-${i}`;
    await removeNetwork(name);
    const network = await docker.createNetwork({
      Name: name,
      Driver: "bridge",
      Labels: { "ha-stack.test": stack },
    });
    await network.connect({ Container: nginxContainer });
    const info = await network.inspect();
    const gateway = info.IPAM?.Config?.[0]?.Gateway;
    if (gateway === undefined) throw new Error(`network ${name} has no gateway address`);
    const nginx = Object.values(info.Containers as Record<string, { IPv4Address: string }>)[0];
    clients.push({ network: name, address: gateway, target: nginx.IPv4Address.split("/")[0] });
  }
  return clients;
}

/** Disconnects nginx and removes every client network of the stack. */
export async function removeClientNetworks(stack: string): Promise<void> {
  const networks = await docker.listNetworks({ filters: { label: [`ha-stack.test=${stack}`] } });
  for (const n of networks) await removeNetwork(n.Name);
}

async function removeNetwork(name: string): Promise<void> {
  const network = docker.getNetwork(name);
  const info = await network.inspect().catch(() => undefined);
  if (info === undefined) return;
  for (const id of Object.keys(info.Containers ?? {})) {
    await network.disconnect({ Container: id, Force: true }).catch(() => undefined);
  }
  await network.remove();
}

/** GET `path` on nginx (port 8080 inside its container) from the client's own address. */
export function getFrom(client: Client, path: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: client.target, port: 8080, path, localAddress: client.address, timeout: timeoutMs },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () =>
          res.statusCode === 200
            ? resolve(body)
            : reject(new Error(`${client.address} → ${path}: HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${client.address} → ${path}: timeout`)));
    req.on("error", reject);
  });
}
