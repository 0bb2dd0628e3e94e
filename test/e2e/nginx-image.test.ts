// The nginx image on its own, against a real Docker engine: three tiny upstream containers on a
// network of this test, nginx in front of them with files uploaded the way the docker provider
// does (`docker cp` before `docker start`), traffic through a port published on 127.0.0.1.
// Every Docker object here is named `hs-nginx-e2e-*` and removed afterwards.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  renderNginxConf,
  renderUpstreams,
  type LbAlgorithm,
  type NginxConfInput,
} from "../../components/render/nginx";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "../..");
const BASE_IMAGE = process.env.BASE_IMAGE ?? "ha-stack-base:trixie";

const PREFIX = "hs-nginx-e2e";
const NGINX_IMAGE = `${PREFIX}-lb:test`;
const UPSTREAM_IMAGE = `${PREFIX}-upstream:test`;
const NETWORK = `${PREFIX}-net`;
const LB = `${PREFIX}-lb`;
const FILLER = `${PREFIX}-filler`;
const LATE_LB = `${PREFIX}-lb-late`;
const LATE_APP = `${PREFIX}-late-0`;
const POOL_LB = `${PREFIX}-lb-pool`;
const POOL_APPS = ["pool-a", "pool-b"].map((name) => `${PREFIX}-${name}`);
const APPS = ["app-0", "app-1", "app-2"];
const container = (app: string): string => `${PREFIX}-${app}`;

async function docker(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run("docker", args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`docker ${args.join(" ")}: ${e.stderr?.trim() || e.message}`);
  }
}

/** Both streams of a container's log (nginx's access log is stdout, the entrypoint's is stderr). */
async function logs(name: string): Promise<string> {
  const { stdout, stderr } = await run("docker", ["logs", name], { maxBuffer: 64 * 1024 * 1024 });
  return `${stdout}${stderr}`;
}

async function inspect(name: string, format: string): Promise<string> {
  return docker("inspect", "--format", format, name);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 200 ms until it returns a value, or fails after `ms`. */
async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

let port = 0;

interface Answer {
  status: number;
  body: string;
  reusedSocket: boolean;
}

/** GET through nginx; a new connection each time unless a keep-alive agent is given. */
function get(urlPath: string, agent: http.Agent | false = false, to = port): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: "127.0.0.1", port: to, path: urlPath, agent, timeout: 20_000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: body.trim(),
            reusedSocket: req.reusedSocket,
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on("error", reject);
  });
}

/** Which upstream answered `/cgi-bin/name`, or a description of the failure. */
async function who(): Promise<string> {
  try {
    const answer = await get("/cgi-bin/name");
    return answer.status === 200 ? answer.body : `HTTP ${answer.status}`;
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

/** Sequential requests, `gapMs` apart, until `stop()` says so or `max` were sent. */
async function traffic(max: number, gapMs: number, stop: () => boolean): Promise<string[]> {
  const answers: string[] = [];
  while (answers.length < max && !stop()) {
    answers.push(await who());
    await sleep(gapMs);
  }
  return answers;
}

const failures = (answers: string[]): string[] => answers.filter((a) => !APPS.includes(a));

function conf(algorithm: LbAlgorithm): NginxConfInput {
  return {
    algorithm,
    upstreams: APPS.map((host) => ({ host, port: 3000 })),
    listenPort: 8080,
  };
}

let tmp = "";

/** Copies text into a container file, as the docker provider's `uploads` do. */
async function upload(name: string, file: string, content: string): Promise<void> {
  const local = path.join(tmp, `upload-${path.basename(file)}-${Date.now()}`);
  fs.writeFileSync(local, content);
  await docker("cp", local, `${name}:${file}`);
}

async function startUpstream(app: string): Promise<void> {
  await docker(
    "run",
    "--detach",
    "--init",
    "--name",
    container(app),
    "--hostname",
    app,
    "--network",
    NETWORK,
    "--network-alias",
    app,
    UPSTREAM_IMAGE,
  );
}

async function ipOf(name: string): Promise<string> {
  return inspect(name, `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`);
}

/** Creates nginx container `name` on the test network with `conf` uploaded, starts it; its host port. */
async function startBalancer(name: string, conf: NginxConfInput): Promise<number> {
  await docker(
    "create",
    "--init",
    "--name",
    name,
    "--network",
    NETWORK,
    "--publish",
    "127.0.0.1::8080",
    NGINX_IMAGE,
  );
  await upload(name, "/etc/ha-stack/nginx.conf", renderNginxConf(conf));
  await upload(name, "/etc/ha-stack/upstreams", renderUpstreams(conf));
  await docker("start", name);
  return Number(/:(\d+)/.exec(await docker("port", name, "8080/tcp"))?.[1]);
}

async function removeAll(): Promise<void> {
  const names = [LB, FILLER, LATE_LB, LATE_APP, POOL_LB, ...POOL_APPS, ...APPS.map(container)];
  await run("docker", ["rm", "--force", ...names]).catch(() => undefined);
  await run("docker", ["network", "rm", NETWORK]).catch(() => undefined);
}

/**
 * A tiny upstream: busybox httpd (from apt, on the same base image) with three CGI scripts,
 * `/cgi-bin/name` (answers the container's hostname), `/cgi-bin/slow` (the same after 3 s) and
 * `/cgi-bin/headers` (the request headers it received, as CGI's HTTP_* variables).
 */
function writeUpstreamContext(dir: string): void {
  const cgi = path.join(dir, "cgi-bin");
  fs.mkdirSync(cgi, { recursive: true });
  const hostname = "printf 'Content-Type: text/plain\\r\\n\\r\\n'\ncat /proc/sys/kernel/hostname\n";
  fs.writeFileSync(path.join(cgi, "name"), `#!/bin/sh\n${hostname}`, { mode: 0o755 });
  fs.writeFileSync(path.join(cgi, "slow"), `#!/bin/sh\nsleep 3\n${hostname}`, { mode: 0o755 });
  fs.writeFileSync(
    path.join(cgi, "headers"),
    "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nenv | grep '^HTTP_' | sort\n",
    { mode: 0o755 },
  );
  // Stops like the app does: no new connections on SIGTERM, requests in flight finish.
  fs.writeFileSync(
    path.join(dir, "serve"),
    [
      "#!/bin/sh",
      "busybox httpd -f -p 3000 -h /www &",
      "pid=$!",
      "trap 'kill $pid; sleep 1; exit 0' TERM",
      "wait $pid",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  fs.writeFileSync(
    path.join(dir, "Dockerfile"),
    [
      "ARG BASE_IMAGE",
      "FROM ${BASE_IMAGE}",
      "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends busybox \\",
      "    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin",
      "COPY cgi-bin/ /www/cgi-bin/",
      "COPY serve /usr/local/bin/serve",
      'CMD ["/usr/local/bin/serve"]',
      "",
    ].join("\n"),
  );
}

let lbId = "";
let lbStartedAt = "";

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}-`));
  await removeAll();
  writeUpstreamContext(path.join(tmp, "upstream"));
  await Promise.all([
    docker(
      "build",
      "--quiet",
      "--tag",
      NGINX_IMAGE,
      "--build-arg",
      `BASE_IMAGE=${BASE_IMAGE}`,
      path.join(ROOT, "nginx"),
    ),
    docker(
      "build",
      "--quiet",
      "--tag",
      UPSTREAM_IMAGE,
      "--build-arg",
      `BASE_IMAGE=${BASE_IMAGE}`,
      path.join(tmp, "upstream"),
    ),
  ]);
  await docker("network", "create", NETWORK);
  for (const app of APPS) await startUpstream(app);

  // As the program declares it: init, non-root, port on loopback, files uploaded before start.
  lbId = await docker(
    "create",
    "--init",
    "--user",
    "www-data",
    "--name",
    LB,
    "--network",
    NETWORK,
    "--network-alias",
    "nginx",
    "--publish",
    "127.0.0.1::8080",
    NGINX_IMAGE,
  );
  await upload(LB, "/etc/ha-stack/nginx.conf", renderNginxConf(conf("round_robin")));
  await upload(LB, "/etc/ha-stack/upstreams", renderUpstreams(conf("round_robin")));
  await docker("start", LB);
  const published = await docker("port", LB, "8080/tcp");
  port = Number(/127\.0\.0\.1:(\d+)/.exec(published)?.[1]);
  lbStartedAt = await inspect(LB, "{{.State.StartedAt}}");
}, 600_000);

afterAll(async () => {
  await removeAll();
  await run("docker", ["rmi", NGINX_IMAGE, UPSTREAM_IMAGE]).catch(() => undefined);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("nginx image", () => {
  it("turns healthy through its own healthcheck", async () => {
    const health = await until("nginx to be healthy", 30_000, async () => {
      const status = await inspect(LB, "{{.State.Health.Status}}");
      return status === "healthy" ? status : undefined;
    });
    expect(health).toBe("healthy");
    expect(await inspect(LB, "{{.Config.User}}")).toBe("www-data");
    const health200 = await get("/nginx-health");
    expect(health200).toMatchObject({ status: 200, body: "ok" });
  });

  it("passes the client's address, Host and a websocket upgrade on to the upstream", async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      http
        .get(
          {
            host: "127.0.0.1",
            port,
            path: "/cgi-bin/headers",
            agent: false,
            headers: { Host: "example.test:8080", Upgrade: "websocket", Connection: "Upgrade" },
          },
          (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => (body += chunk));
            res.on("end", () => resolve(body));
          },
        )
        .on("error", reject);
    });
    const gateway = await inspect(LB, `{{(index .NetworkSettings.Networks "${NETWORK}").Gateway}}`);
    const headers = Object.fromEntries(
      answer
        .trim()
        .split("\n")
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    expect(headers).toMatchObject({
      HTTP_HOST: "example.test",
      HTTP_X_REAL_IP: gateway,
      HTTP_X_FORWARDED_FOR: gateway,
      HTTP_X_FORWARDED_PROTO: "http",
      HTTP_UPGRADE: "websocket",
      HTTP_CONNECTION: "upgrade",
    });
  });

  it("round_robin spreads 30 requests evenly over the three upstreams", async () => {
    const answers = await traffic(30, 0, () => false);
    const counts = Object.fromEntries(APPS.map((a) => [a, answers.filter((x) => x === a).length]));
    expect(failures(answers)).toEqual([]);
    expect(counts).toEqual({ "app-0": 10, "app-1": 10, "app-2": 10 });
  });

  it("loses no request while an upstream stops, and drops it from the servers", async () => {
    const load = traffic(80, 50, () => false);
    await sleep(1_000);
    await docker("stop", "--time", "2", container("app-2"));
    const answers = await load;
    expect(failures(answers)).toEqual([]);
    // The tail of the run (well after the stop) never reaches app-2.
    expect(answers.slice(-20)).not.toContain("app-2");
    expect(await logs(LB)).toMatch(/reloaded nginx; upstream servers: app-0=\S+ app-1=\S+ \n/);
  });

  it("follows a replaced upstream to its new address without failed requests", async () => {
    const oldIp = await ipOf(container("app-1"));
    let replaced = false;
    const load = traffic(150, 20, () => false);
    const replace = (async () => {
      await sleep(500);
      await docker("rm", "--force", container("app-1"));
      // Holds on to an address Docker might otherwise hand straight back to app-1.
      await docker("run", "--detach", "--name", FILLER, "--network", NETWORK, UPSTREAM_IMAGE);
      await startUpstream("app-1");
      replaced = true;
    })();
    await replace;
    const newIp = await ipOf(container("app-1"));
    expect(newIp).not.toBe(oldIp);
    const startedReplacement = Date.now();
    const seen = await until("the new app-1 to answer through nginx", 10_000, async () =>
      (await who()) === "app-1" ? Date.now() - startedReplacement : undefined,
    );
    const answers = await load;
    expect(replaced).toBe(true);
    expect(failures(answers)).toEqual([]);
    expect(seen).toBeLessThan(5_000);
    expect(await logs(LB)).toContain(`app-1=${newIp}:3000`);
  });

  it("reloads a new nginx.conf in place without dropping an in-flight keep-alive request", async () => {
    await docker("start", container("app-2"));
    await until("app-2 back in rotation", 10_000, async () =>
      (await traffic(6, 0, () => false)).includes("app-2") ? true : undefined,
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get("/cgi-bin/name", agent);
      expect(first.status).toBe(200);
      const slow = get("/cgi-bin/slow", agent);
      await sleep(300);
      const reloadsBefore = (await logs(LB)).split("reloaded nginx").length;
      await upload(LB, "/etc/ha-stack/nginx.conf", renderNginxConf(conf("ip_hash")));
      await until("the reload log line", 10_000, async () =>
        (await logs(LB)).split("reloaded nginx").length > reloadsBefore ? true : undefined,
      );
      const inFlight = await slow;
      expect(inFlight.reusedSocket).toBe(true);
      expect(inFlight.status).toBe(200);
      expect(APPS).toContain(inFlight.body);
    } finally {
      agent.destroy();
    }
    // ip_hash: every request from this one client address lands on the same replica.
    const answers = await traffic(20, 0, () => false);
    expect(failures(answers)).toEqual([]);
    expect(new Set(answers).size).toBe(1);
    expect(await inspect(LB, "{{.Id}}")).toBe(lbId);
    expect(await inspect(LB, "{{.State.StartedAt}}")).toBe(lbStartedAt);
    expect(await inspect(LB, "{{.RestartCount}}")).toBe("0");
  });

  it("keeps serving with the running config when a new nginx.conf fails nginx -t", async () => {
    const good = renderNginxConf(conf("round_robin"));
    await upload(
      LB,
      "/etc/ha-stack/nginx.conf",
      good.replace("proxy_pass http://app;", "proxy_pass;"),
    );
    const rejected = await until("the rejection log line", 10_000, async () => {
      const line = (await logs(LB)).split("\n").find((l) => l.includes("new config rejected"));
      return line;
    });
    expect(rejected).toContain("proxy_pass");
    // Still the ip_hash config from before: one replica, no failures.
    const answers = await traffic(10, 0, () => false);
    expect(failures(answers)).toEqual([]);
    expect(new Set(answers).size).toBe(1);
    // Fixing the file is picked up again.
    await upload(LB, "/etc/ha-stack/nginx.conf", good);
    const spread = await until("round robin again", 10_000, async () => {
      const names = await traffic(6, 0, () => false);
      return new Set(names).size === 3 ? names : undefined;
    });
    expect(failures(spread)).toEqual([]);
  });

  it("starts before any upstream resolves and adds it once it appears", async () => {
    const late: NginxConfInput = {
      algorithm: "least_conn",
      upstreams: [{ host: "late-0", port: 3000 }],
      listenPort: 8080,
    };
    const latePort = await startBalancer(LATE_LB, late);
    const lateGet = (urlPath: string): Promise<Answer> => get(urlPath, false, latePort);
    await until("the late balancer to be healthy", 30_000, async () =>
      (await inspect(LATE_LB, "{{.State.Health.Status}}")) === "healthy" ? true : undefined,
    );
    expect(await logs(LATE_LB)).toContain("upstream servers: none (no upstream host resolves)");
    expect((await lateGet("/cgi-bin/name")).status).toBe(502);

    await docker(
      "run",
      "--detach",
      "--init",
      "--name",
      LATE_APP,
      "--hostname",
      "late-0",
      "--network",
      NETWORK,
      "--network-alias",
      "late-0",
      UPSTREAM_IMAGE,
    );
    const began = Date.now();
    const answer = await until("late-0 to answer through nginx", 15_000, async () => {
      const a = await lateGet("/cgi-bin/name");
      return a.status === 200 ? a : undefined;
    });
    expect(answer.body).toBe("late-0");
    expect(Date.now() - began).toBeLessThan(5_000);
  });

  it("balances over every address of a name that resolves to several (a swarm's tasks.<service>)", async () => {
    // Two containers under one network alias: Docker's DNS answers `pool` with both addresses,
    // as Swarm's answers `tasks.<service>` with every healthy task.
    for (const name of POOL_APPS) {
      await docker(
        "run",
        "--detach",
        "--init",
        "--name",
        name,
        "--hostname",
        name.slice(PREFIX.length + 1),
        "--network",
        NETWORK,
        "--network-alias",
        "pool",
        UPSTREAM_IMAGE,
      );
    }
    const pool: NginxConfInput = {
      algorithm: "round_robin",
      upstreams: [{ host: "pool", port: 3000 }],
      listenPort: 8080,
      replicas: 2,
    };
    const poolPort = await startBalancer(POOL_LB, pool);
    await until("the pool balancer to be healthy", 30_000, async () =>
      (await inspect(POOL_LB, "{{.State.Health.Status}}")) === "healthy" ? true : undefined,
    );
    const answers: string[] = [];
    for (let i = 0; i < 20; i++) answers.push((await get("/cgi-bin/name", false, poolPort)).body);
    expect(answers.filter((a) => a === "pool-a")).toHaveLength(10);
    expect(answers.filter((a) => a === "pool-b")).toHaveLength(10);
    expect(await logs(POOL_LB)).toMatch(/upstream servers: pool=\S+ pool=\S+ \n/);
    expect(JSON.parse((await get("/stack.json", false, poolPort)).body)).toEqual({
      replicas: 2,
      lbAlgorithm: "round_robin",
    });
  });

  it("stops gracefully on docker stop: the in-flight request finishes, exit status 0", async () => {
    const slow = get("/cgi-bin/slow");
    await sleep(500);
    const began = Date.now();
    await docker("stop", "--time", "10", LB);
    const tookMs = Date.now() - began;
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(APPS).toContain(answer.body);
    expect(await inspect(LB, "{{.State.ExitCode}}")).toBe("0");
    // Finished on its own (about the 2.5 s left of the slow request), not killed at 10 s.
    expect(tookMs).toBeLessThan(8_000);
    expect(await logs(LB)).toContain("nginx-entrypoint: nginx exited with status 0");
  });
});
