// What nginx costs and what a second replica buys, side by side in one run, with wrk: straight
// to one replica vs through nginx balancing over 1, 2 and 3 replicas, for GET /api/info and a
// static asset, under each lbAlgorithm, with nginx.conf as rendered now and as rendered before
// issue #14 (no upstream keepalive, `Connection: close` to the replicas, unbuffered access log)
// and before #20 (16 idle upstream connections, default keepalive_requests, worker_connections
// and proxy buffers), plus the published host port (Docker's userland proxy, when it runs).
// The variants are written into the running nginx (its watcher reloads it in place), so every
// row shares the stack, the replicas and the machine state. Runs its own stack (`balancer`,
// 127.0.0.1:18150 unless --stack/--port); traffic goes only to that stack's containers and its
// published port. Through the real Pulumi engine (ops/stack.ts). Needs wrk, Docker, the base image.
// --published-only measures just the published port against nginx's container address, in
// alternating pairs, into a section named by the daemon's userland-proxy setting: run it once
// as Docker starts by default and once with dockerd started with --userland-proxy=false.
//   npx tsx bench/balancer.ts [--stack NAME] [--port PORT] [--published-only]
import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { APP_PORT } from "../components/app";
import { NGINX_PORT } from "../components/balancer";
import {
  LB_ALGORITHMS,
  renderNginxConf,
  renderUpstreams,
  type LbAlgorithm,
} from "../components/render/nginx";
import { addressOn, exec } from "../ops/docker";
import { copyProgram, nginxUpstreams, removeProgramCopy } from "../ops/rollout";
import { destroyStack, upStack, type Stack } from "../ops/stack";
import { median, report, type Figure } from "./report";

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : (process.argv[at + 1] ?? fallback);
}
const STACK = arg("stack", "balancer");
const PUBLISHED_ONLY = process.argv.includes("--published-only");
/** Alternating published-port / container-address pairs in --published-only. */
const PAIRS = 5;
const PORT = arg("port", "18150");
// adminUi off: Adminer publishes a fixed host port (8081) that another stack may hold.
const CONFIG = {
  httpPort: PORT,
  collectorIntervalSeconds: "0",
  adminUi: "false",
  replicas: "3",
};
/** wrk: one thread (the second core serves), 8 connections, bounded in time. */
const WRK = { threads: 1, connections: 8, seconds: 4 };
// /healthz: no database work (not logged), so nginx's own cost shows; /api/info reads through
// pgpool; /assets/app.css is the static asset (a logged route: one INSERT per request).
const PATHS = ["/healthz", "/api/info", "/assets/app.css"] as const;

interface Wrk {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

function ms(value: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(value);
  if (!m) throw new Error(`wrk latency "${value}"`);
  return Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1);
}

/** One bounded wrk run against a container address (loopback-reachable bridge network). */
function wrk(url: string): Wrk {
  const out = execFileSync(
    "wrk",
    [
      `-t${WRK.threads}`,
      `-c${WRK.connections}`,
      `-d${WRK.seconds}s`,
      "--timeout",
      "5s",
      "--latency",
      url,
    ],
    { encoding: "utf8", timeout: (WRK.seconds + 20) * 1000 },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = /^\s+50%\s+(\S+)/m.exec(out)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1];
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  if (!rps || !p50 || !p99) throw new Error(`cannot read wrk's output:\n${out}`);
  return { rps, p50: ms(p50), p99: ms(p99), errors };
}

/** nginx.conf as ha-stack rendered it before #20, derived from today's rendering. */
function before20Conf(conf: string): string {
  const out = conf
    .replace(/^(\s*keepalive) \d+;/m, "$1 16;")
    .replace(/^\s*keepalive_requests \d+;\n/gm, "")
    .replace(/worker_connections \d+;/, "worker_connections 1024;")
    .replace(/^\s*proxy_(buffer_size|buffers|busy_buffers_size) [^;]*;\n/gm, "");
  if (/keepalive_requests|proxy_buffers |proxy_buffer_size|worker_connections 4096/.test(out)) {
    throw new Error("before-#20 conf rewrite missed");
  }
  return out;
}

/** nginx.conf as ha-stack rendered it before #14, derived from the one before #20. */
function beforeConf(conf: string): string {
  const out = before20Conf(conf)
    .replace(/^\s*keepalive \d+;\n/m, "")
    .replace(/^\s*keepalive_timeout 4s;\n/m, "")
    .replace(/''\s+'';/, "''      close;")
    .replace(/ buffer=64k flush=1s;/, ";");
  if (/keepalive \d+;|buffer=|''\s+'';/.test(out)) throw new Error("before-conf rewrite missed");
  return out;
}

async function put(nginx: string, file: string, content: string): Promise<void> {
  const b64 = Buffer.from(content).toString("base64");
  await exec(
    nginx,
    ["sh", "-c", `echo ${b64} | base64 -d > '${file}.new' && mv -f '${file}.new' '${file}'`],
    "root",
  );
}

/** Writes both files into the running nginx and waits until its watcher has applied them. */
async function configure(nginx: string, conf: string, hosts: string[]): Promise<void> {
  const upstreams = renderUpstreams({
    algorithm: "round_robin",
    listenPort: NGINX_PORT,
    upstreams: hosts.map((host) => ({ host, port: APP_PORT })),
  });
  await put(nginx, "/etc/ha-stack/nginx.conf", conf);
  await put(nginx, "/etc/ha-stack/upstreams", upstreams);
  const before = Date.now();
  for (;;) {
    const serving = await nginxUpstreams(nginx);
    const loaded = await exec(nginx, ["cat", "/etc/ha-stack/nginx.conf"]);
    if (serving.join() === [...hosts].sort().join() && loaded === conf) break;
    if (Date.now() - before > 15_000) throw new Error(`nginx did not take ${hosts.join(", ")}`);
    await sleep(300);
  }
  // The watcher checks once a second and then signals nginx; old workers finish their requests.
  await sleep(2_500);
}

const fmt = (r: Wrk) =>
  `${Math.round(r.rps)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms${
    r.errors ? `, ${r.errors} errors` : ""
  }`;

/** Whether Docker's userland proxy serves published ports (a docker-proxy process per port). */
function userlandProxyRunning(): boolean {
  return /docker-proxy/.test(execFileSync("ps", ["-eo", "comm"], { encoding: "utf8" }));
}

/**
 * --published-only: the published port (127.0.0.1:PORT, as a browser on the host reaches the
 * stack) against nginx's container address, in PAIRS alternating pairs on one stack, so the
 * machine's drift hits both sides alike. The section is named by the proxy setting it ran under.
 */
async function publishedOnly(): Promise<void> {
  const programDir = copyProgram();
  const figures: Figure[] = [];
  let proxy = "unknown";
  try {
    const stack = await upStack(STACK, CONFIG, programDir);
    // Only once the stack publishes its port is there a docker-proxy to see.
    proxy = userlandProxyRunning() ? "on" : "off";
    const nginxAddress = await addressOn(stack.container("nginx"), "-frontend");
    const published: Wrk[] = [];
    const container: Wrk[] = [];
    wrk(`http://127.0.0.1:${PORT}/healthz`); // warm-up: nginx's upstream connections
    for (let i = 0; i < PAIRS; i++) {
      published.push(wrk(`http://127.0.0.1:${PORT}/healthz`));
      container.push(wrk(`http://${nginxAddress}:${NGINX_PORT}/healthz`));
      console.log(`pair ${i + 1}: published ${fmt(published[i])}; container ${fmt(container[i])}`);
    }
    const ratios = published.map((p, i) => p.rps / container[i].rps);
    figures.push(
      {
        name: "/healthz: published host port (127.0.0.1), nginx, 3 replicas",
        value: `median ${Math.round(median(published.map((r) => r.rps)))} req/s, p50 ${median(
          published.map((r) => r.p50),
        ).toFixed(2)} ms`,
        note: `each pair: ${published.map(fmt).join("; ")}`,
      },
      {
        name: "/healthz: nginx's container address, same pairs",
        value: `median ${Math.round(median(container.map((r) => r.rps)))} req/s, p50 ${median(
          container.map((r) => r.p50),
        ).toFixed(2)} ms`,
        note: `each pair: ${container.map(fmt).join("; ")}`,
      },
      {
        name: "published port ÷ container address, req/s",
        value: `median ${median(ratios).toFixed(2)} ×`,
        note: `per pair: ${ratios.map((r) => r.toFixed(2)).join(", ")}`,
      },
    );
  } finally {
    await destroyStack(STACK, programDir).catch((e: unknown) => console.error(e));
    removeProgramCopy(programDir);
  }
  report(
    `The balancer: published port, userland proxy ${proxy}`,
    `npx tsx bench/balancer.ts --published-only${
      proxy === "off" ? " (dockerd started with --userland-proxy=false)" : ""
    }`,
    figures,
    `wrk ${WRK.threads} thread, ${WRK.connections} connections, ${WRK.seconds} s per run, ` +
      `${PAIRS} pairs alternating the published port and nginx's container address on one stack ` +
      `of 3 replicas. Userland proxy ${proxy}: ` +
      (proxy === "on"
        ? "a connection to 127.0.0.1:PORT is accepted by docker-proxy, which opens another to nginx."
        : "iptables' DNAT in the kernel sends a connection to 127.0.0.1:PORT to nginx (Docker sets route_localnet)."),
  );
}

async function main(): Promise<void> {
  const programDir = copyProgram();
  let stack: Stack | undefined;
  const figures: Figure[] = [];
  const rows: string[] = [];
  try {
    stack = await upStack(STACK, CONFIG, programDir);
    const nginx = stack.container("nginx");
    const apps = [0, 1, 2].map((i) => stack!.container(`app-${i}`));
    const nginxAddress = await addressOn(nginx, "-frontend");
    const appAddress = await addressOn(apps[0], "-frontend");
    const render = (algorithm: LbAlgorithm) =>
      renderNginxConf({
        algorithm,
        listenPort: NGINX_PORT,
        upstreams: [0, 1, 2].map((i) => ({ host: `app-${i}`, port: APP_PORT })),
      });

    // Warm-up: JIT and connection pools on every replica.
    for (const app of apps) wrk(`http://${await addressOn(app, "-frontend")}:${APP_PORT}/api/info`);

    const direct: Record<string, Wrk> = {};
    for (const p of PATHS) {
      direct[p] = wrk(`http://${appAddress}:${APP_PORT}${p}`);
      rows.push(`direct ${p}: ${JSON.stringify(direct[p])}`);
      console.log(rows.at(-1));
    }

    const variants: [string, LbAlgorithm, string][] = [
      ["before #14", "round_robin", beforeConf(render("round_robin"))],
      ["before #20", "round_robin", before20Conf(render("round_robin"))],
      ...LB_ALGORITHMS.map((a) => [a, a, render(a)] as [string, LbAlgorithm, string]),
    ];
    const through: Record<string, Wrk> = {};
    for (const [label, , conf] of variants) {
      for (const n of [1, 2, 3]) {
        await configure(nginx, conf, apps.slice(0, n));
        for (const p of PATHS) {
          const r = wrk(`http://${nginxAddress}:${NGINX_PORT}${p}`);
          through[`${label} ${n} ${p}`] = r;
          rows.push(`${label}, ${n} replica(s), ${p}: ${JSON.stringify(r)}`);
          console.log(rows.at(-1));
        }
      }
    }

    // The published port, as a browser reaches the stack: through docker-proxy when Docker's
    // userland proxy is on (a process per published port), through iptables' DNAT when off.
    await configure(nginx, render("round_robin"), apps);
    const proxyRunning = userlandProxyRunning();
    const published = wrk(`http://127.0.0.1:${PORT}/healthz`);
    const viaContainer = wrk(`http://${nginxAddress}:${NGINX_PORT}/healthz`);
    rows.push(`published port /healthz: ${JSON.stringify(published)}`);
    console.log(rows.at(-1), `(userland proxy running: ${proxyRunning})`);
    console.log(`nginx container address /healthz, same moment: ${JSON.stringify(viaContainer)}`);

    figures.push({
      name: "/healthz: published host port, nginx, 3 replicas",
      value: fmt(published),
      note:
        `${(published.rps / viaContainer.rps).toFixed(2)} × nginx's container address measured ` +
        `just after (${fmt(viaContainer)}); Docker's userland proxy ` +
        (proxyRunning ? "on (docker-proxy)" : "off"),
    });
    for (const p of PATHS) {
      figures.push({
        name: `${p}: straight to one replica`,
        value: fmt(direct[p]),
        note: "container address, port 3000",
      });
      for (const [label] of variants) {
        for (const n of [1, 2, 3]) {
          const r = through[`${label} ${n} ${p}`];
          const note =
            n === 1
              ? `nginx's p50 overhead ${(r.p50 - direct[p].p50).toFixed(2)} ms, p99 ${(
                  r.p99 - direct[p].p99
                ).toFixed(2)} ms`
              : `${(r.rps / through[`${label} 1 ${p}`].rps).toFixed(2)} × ${label} with 1 replica`;
          figures.push({
            name: `${p}: nginx (${label}), ${n} replica${n === 1 ? "" : "s"}`,
            value: fmt(r),
            note,
          });
        }
      }
    }
  } finally {
    await destroyStack(STACK, programDir).catch((e: unknown) => console.error(e));
    removeProgramCopy(programDir);
  }

  report(
    "The balancer",
    "npx tsx bench/balancer.ts",
    figures,
    `wrk ${WRK.threads} thread, ${WRK.connections} connections, ${WRK.seconds} s per row, against ` +
      "container addresses on the stack's frontend network (no docker-proxy), one stack of 3 " +
      "replicas brought up through the real Pulumi engine; nginx balances over the first 1, 2 or 3 of them " +
      "(its upstreams file rewritten in the running container, as the config step does). " +
      "`before #14`: the nginx.conf of before this change (every proxied request on a new " +
      "connection with `Connection: close`, every request a write to stdout). wrk, nginx (2 " +
      "workers) and the replicas share 2 cores, so a second replica cannot double anything: " +
      "the ceiling is what the cores left after wrk and nginx. ip_hash and consistent_hash key " +
      "on the client address: wrk is one client, so they send everything to one replica. " +
      "/healthz does no database work; /api/info reads through pgpool; /assets/app.css is a " +
      "logged route (one INSERT through pgpool per request): for those two the database tier, " +
      "shared by every replica, is the ceiling, not nginx.",
  );
}

(PUBLISHED_ONLY ? publishedOnly() : main()).catch((error) => {
  console.error(error);
  process.exit(1);
});
