import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  LB_ALGORITHMS,
  renderNginxConf,
  renderUpstreams,
  type LbAlgorithm,
  type NginxConfInput,
} from "../../components/render/nginx";

const NGINX = "/usr/sbin/nginx";
const hasNginx = fs.existsSync(NGINX);

function input(algorithm: LbAlgorithm, n: number): NginxConfInput {
  return {
    algorithm,
    upstreams: Array.from({ length: n }, (_, i) => ({ host: `app-${i}`, port: 3000 })),
    listenPort: 8080,
  };
}

/** The `upstream app { … }` block of a rendered config. */
function upstreamBlock(conf: string): string {
  const match = /^ {4}upstream app \{\n([\s\S]*?)^ {4}\}/m.exec(conf);
  if (!match) throw new Error("no upstream app block");
  return match[1];
}

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "hs-nginx-unit-"));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/**
 * Runs the real `nginx -t` on a rendered config. Only this test moves `/run/nginx` (pid, temp
 * dirs, servers include) into a temp prefix; `servers` is the include the entrypoint would write.
 */
function nginxTest(conf: string, servers: string): { ok: boolean; output: string } {
  const dir = fs.mkdtempSync(path.join(tmpRoot, "t-"));
  fs.mkdirSync(path.join(dir, "run"));
  fs.writeFileSync(path.join(dir, "run", "upstream-servers.conf"), servers);
  const confFile = path.join(dir, "nginx.conf");
  fs.writeFileSync(confFile, conf.replaceAll("/run/nginx/", `${dir}/run/`));
  // stdout is a file, as in a container where it is a pipe: nginx opens /dev/stdout for the
  // access log, which fails on the socket vitest would hand it.
  const stdout = fs.openSync(path.join(dir, "stdout"), "w");
  try {
    const result = spawnSync(NGINX, ["-t", "-c", confFile, "-p", `${dir}/`], {
      encoding: "utf8",
      stdio: ["ignore", stdout, "pipe"],
    });
    return { ok: result.status === 0, output: result.stderr };
  } finally {
    fs.closeSync(stdout);
  }
}

/** What the entrypoint writes for resolved upstreams: `server <ip>:<port> <params>;`. */
function serversFor(upstreams: string): string {
  return upstreams
    .trim()
    .split("\n")
    .map((line, i) => {
      const [host, port, ...params] = line.split(" ");
      return `server 10.0.${Math.floor(i / 200)}.${(i % 200) + 2}:${port} ${params.join(" ")}; # ${host}\n`;
    })
    .join("");
}

describe("renderNginxConf", () => {
  it.each([
    ["round_robin", undefined],
    ["least_conn", "least_conn;"],
    ["ip_hash", "ip_hash;"],
    ["consistent_hash", "hash $remote_addr consistent;"],
  ] as const)("%s puts its balancing directive in the upstream block", (algorithm, directive) => {
    const block = upstreamBlock(renderNginxConf(input(algorithm, 3)));
    const directives = block
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    expect(directives).toEqual([
      ...(directive === undefined ? [] : [directive]),
      "zone app 64k;",
      "include /run/nginx/upstream-servers.conf;",
    ]);
  });

  it("runs as non-root with every writable path under /run/nginx and logs to the container", () => {
    const conf = renderNginxConf(input("round_robin", 3));
    expect(conf).not.toMatch(/^\s*user\s/m);
    expect(conf).toContain("daemon off;");
    expect(conf).toContain("pid /run/nginx/nginx.pid;");
    for (const temp of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
      expect(conf).toContain(`${temp}_temp_path /run/nginx/${temp};`);
    }
    expect(conf).toContain("error_log stderr warn;");
    expect(conf).toMatch(/access_log \/dev\/stdout \w+;/);
    expect(conf).toContain("listen 8080;");
    expect(conf).toContain("server_tokens off;");
    expect(conf).toContain("client_max_body_size 1m;");
  });

  it("proxies websockets and forwards the client's address, with nginx variables left literal", () => {
    const conf = renderNginxConf(input("ip_hash", 3));
    expect(conf).toMatch(/map \$http_upgrade \$connection_upgrade \{\s+default upgrade;/);
    for (const header of [
      "Host $host",
      "X-Real-IP $remote_addr",
      "X-Forwarded-For $proxy_add_x_forwarded_for",
      "Upgrade $http_upgrade",
      "Connection $connection_upgrade",
    ]) {
      expect(conf).toContain(`proxy_set_header ${header};`);
    }
    expect(conf).toContain("proxy_http_version 1.1;");
    expect(conf).toMatch(/location \/socket\.io\/ \{[^}]*proxy_read_timeout 1h;/);
    // Nothing for a template engine to substitute: no ${…} survives rendering.
    expect(conf).not.toContain("${");
  });

  it("retries the next replica on failures within bounds and fails over fast", () => {
    const conf = renderNginxConf(input("round_robin", 3));
    expect(conf).toContain("proxy_next_upstream error timeout http_502 http_503 http_504;");
    expect(conf).toContain("proxy_next_upstream_tries 3;");
    expect(conf).toContain("proxy_next_upstream_timeout 10s;");
    expect(conf).toContain("proxy_connect_timeout 2s;");
  });

  it("answers /nginx-health itself, without proxying or logging", () => {
    const conf = renderNginxConf(input("round_robin", 1));
    const health = /location = \/nginx-health \{([^}]*)\}/.exec(conf);
    expect(health?.[1]).toContain('return 200 "ok\\n";');
    expect(health?.[1]).toContain("access_log off;");
    expect(health?.[1]).not.toContain("proxy_pass");
  });

  it("uses the given listen port", () => {
    expect(renderNginxConf({ ...input("round_robin", 1), listenPort: 9090 })).toContain(
      "listen 9090;",
    );
  });
});

describe("renderUpstreams", () => {
  it.each([1, 3, 32])("writes one `host port params` line for each of %i upstreams", (n) => {
    const lines = renderUpstreams(input("round_robin", n)).split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(n);
    lines.forEach((line, i) => expect(line).toBe(`app-${i} 3000 max_fails=1 fail_timeout=2s`));
  });

  it("keeps the order and ports it was given", () => {
    const text = renderUpstreams({
      algorithm: "least_conn",
      upstreams: [
        { host: "app-2", port: 3000 },
        { host: "10.0.0.7", port: 8081 },
      ],
      listenPort: 8080,
    });
    expect(text).toBe(
      "app-2 3000 max_fails=1 fail_timeout=2s\n10.0.0.7 8081 max_fails=1 fail_timeout=2s\n",
    );
  });
});

describe("validation", () => {
  const ok = input("round_robin", 3);
  it.each([
    [
      "an unknown algorithm",
      { ...ok, algorithm: "random" as LbAlgorithm },
      'nginx algorithm is "random"; allowed: round_robin, least_conn, ip_hash, consistent_hash',
    ],
    [
      "no upstreams",
      { ...ok, upstreams: [] },
      'nginx upstreams is "0 entries"; allowed: 1 to 32 entries',
    ],
    [
      "33 upstreams",
      input("round_robin", 33),
      'nginx upstreams is "33 entries"; allowed: 1 to 32 entries',
    ],
    [
      "a host with a blank",
      { ...ok, upstreams: [{ host: "app 0", port: 3000 }] },
      "nginx upstreams[0].host is \"app 0\"; allowed: a host name or IPv4 address of letters, digits, '.', '_', '-' (at most 253 characters)",
    ],
    [
      "a host with a semicolon",
      {
        ...ok,
        upstreams: [
          { host: "app-0", port: 3000 },
          { host: "x;y", port: 3000 },
        ],
      },
      "nginx upstreams[1].host is \"x;y\"; allowed: a host name or IPv4 address of letters, digits, '.', '_', '-' (at most 253 characters)",
    ],
    [
      "port 0",
      { ...ok, upstreams: [{ host: "app-0", port: 0 }] },
      "nginx upstreams[0].port is 0; allowed: a whole number from 1 to 65535",
    ],
    [
      "a fractional port",
      { ...ok, upstreams: [{ host: "app-0", port: 3000.5 }] },
      "nginx upstreams[0].port is 3000.5; allowed: a whole number from 1 to 65535",
    ],
    [
      "a duplicate upstream",
      {
        ...ok,
        upstreams: [
          { host: "app-0", port: 3000 },
          { host: "app-0", port: 3000 },
        ],
      },
      'nginx upstreams[1] is "app-0:3000"; allowed: each host:port once',
    ],
    [
      "listen port 70000",
      { ...ok, listenPort: 70000 },
      "nginx listenPort is 70000; allowed: a whole number from 1 to 65535",
    ],
  ])("rejects %s with a message naming field, value and what is allowed", (_, bad, message) => {
    expect(() => renderNginxConf(bad)).toThrow(new Error(message));
    expect(() => renderUpstreams(bad)).toThrow(new Error(message));
  });
});

describe.skipIf(!hasNginx)(`the real ${NGINX} -t`, () => {
  const cases = LB_ALGORITHMS.flatMap((algorithm) =>
    [1, 3, 32].map((n) => [algorithm, n] as const),
  );

  it.each(cases)("accepts %s with %i resolved servers", (algorithm, n) => {
    const conf = renderNginxConf(input(algorithm, n));
    const servers = serversFor(renderUpstreams(input(algorithm, n)));
    expect(servers.split("\n")).toHaveLength(n + 1);
    const result = nginxTest(conf, servers);
    expect(result.output).toContain("test is successful");
    expect(result.ok).toBe(true);
  });

  it.each(LB_ALGORITHMS)("accepts %s with the entrypoint's placeholder server", (algorithm) => {
    const result = nginxTest(renderNginxConf(input(algorithm, 3)), "server 127.0.0.1:9 down;\n");
    expect(result.ok).toBe(true);
  });

  it("rejects an empty servers include (why the entrypoint writes a placeholder)", () => {
    const result = nginxTest(renderNginxConf(input("round_robin", 3)), "");
    expect(result.ok).toBe(false);
    expect(result.output).toContain("no servers are inside upstream in");
  });
});
