import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { blockOf, inEffect, named, parseNginx, type Directive } from "./conf-files";
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

/** The rendered nginx.conf as nginx reads it: top level, `http`, its `server`, `upstream app`. */
function parsed(conf: string) {
  const main = parseNginx(conf);
  const http = blockOf(main, "http");
  const server = blockOf(http, "server");
  return { main, http, server, upstream: blockOf(http, "upstream", "app") };
}

/** The one directive `name` at a level, as its args. */
function only(level: readonly Directive[], name: string): string[] {
  const found = named(level, name);
  expect(
    found.map((d) => d.args),
    name,
  ).toHaveLength(1);
  return found[0].args;
}

/** Each `location` of the server with the directive levels it sees (http, server, location). */
function locations(conf: string): [string, Directive[][]][] {
  const { http, server } = parsed(conf);
  return named(server, "location").map((l) => [l.args.join(" "), [http, server, l.block!]]);
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
    ["round_robin", []],
    ["least_conn", [["least_conn"]]],
    ["ip_hash", [["ip_hash"]]],
    ["consistent_hash", [["hash", "$remote_addr", "consistent"]]],
  ] as const)("%s puts its balancing directive in the upstream block", (algorithm, method) => {
    const { upstream } = parsed(renderNginxConf(input(algorithm, 3)));
    expect(upstream.map((d) => [d.name, ...d.args])).toEqual([
      ...method,
      ["zone", "app", "64k"],
      ["include", "/run/nginx/upstream-servers.conf"],
      // After the balancing method (nginx requires it), and shorter than Node's 5 s idle close.
      ["keepalive", "64"],
      ["keepalive_timeout", "4s"],
      ["keepalive_requests", "10000"],
    ]);
  });

  it("keeps connections open on both sides and responses in memory", () => {
    const { main, http, server } = parsed(renderNginxConf(input("round_robin", 3)));
    // One worker per core of a 2-core host; each proxied request holds two connections.
    expect(only(main, "worker_processes")).toEqual(["2"]);
    expect(only(blockOf(main, "events"), "worker_connections")).toEqual(["4096"]);
    expect(only(http, "keepalive_requests")).toEqual(["10000"]);
    expect(only(http, "keepalive_timeout")).toEqual(["65s"]);
    expect(only(server, "proxy_buffer_size")).toEqual(["16k"]);
    expect(only(server, "proxy_buffers")).toEqual(["16", "16k"]);
    expect(only(server, "proxy_busy_buffers_size")).toEqual(["32k"]);
  });

  it("runs as non-root with every writable path under /run/nginx and logs to the container", () => {
    const { main, http, server } = parsed(renderNginxConf(input("round_robin", 3)));
    expect(named(main, "user")).toEqual([]);
    expect(only(main, "daemon")).toEqual(["off"]);
    expect(only(main, "pid")).toEqual(["/run/nginx/nginx.pid"]);
    expect(only(main, "error_log")).toEqual(["stderr", "warn"]);
    for (const temp of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
      expect(only(http, `${temp}_temp_path`)).toEqual([`/run/nginx/${temp}`]);
    }
    const [logFormat] = only(http, "log_format");
    expect(only(http, "access_log")).toEqual(["/dev/stdout", logFormat, "buffer=64k", "flush=1s"]);
    expect(only(http, "server_tokens")).toEqual(["off"]);
    expect(only(http, "client_max_body_size")).toEqual(["1m"]);
    expect(only(server, "listen")).toEqual(["8080"]);
  });

  it("proxies websockets in every proxied location: HTTP/1.1, Upgrade passed, Connection mapped", () => {
    const conf = renderNginxConf(input("ip_hash", 3));
    const map = blockOf(parsed(conf).http, "map", "$http_upgrade", "$connection_upgrade");
    // An upgrade asks for Connection: upgrade; any other request sends an empty Connection
    // header, so nginx's upstream keepalive can reuse the connection.
    expect(map.map((d) => [d.name, ...d.args])).toEqual([
      ["default", "upgrade"],
      ["", ""],
    ]);
    const proxied = locations(conf).filter(([, levels]) => named(levels[2], "proxy_pass").length);
    expect(proxied.map(([path]) => path)).toEqual(["/socket.io/", "/"]);
    for (const [path, levels] of proxied) {
      expect(inEffect(levels, "proxy_http_version"), path).toEqual([["1.1"]]);
      expect(inEffect(levels, "proxy_set_header"), path).toEqual(
        expect.arrayContaining([
          ["Upgrade", "$http_upgrade"],
          ["Connection", "$connection_upgrade"],
          ["Host", "$host"],
          ["X-Real-IP", "$remote_addr"],
          ["X-Forwarded-For", "$proxy_add_x_forwarded_for"],
          ["X-Forwarded-Proto", "$scheme"],
        ]),
      );
    }
    // Long-lived websockets and long-polling requests are not cut after a minute.
    const socketIo = blockOf(parsed(conf).server, "location", "/socket.io/");
    expect(only(socketIo, "proxy_read_timeout")).toEqual(["1h"]);
    expect(only(socketIo, "proxy_buffering")).toEqual(["off"]);
    // Nothing for a template engine to substitute: no ${…} survives rendering.
    expect(conf).not.toContain("${");
  });

  it.each([
    ["round_robin", 1],
    ["ip_hash", 5],
    ["consistent_hash", 32],
  ] as const)("answers /stack.json with %s and %i replicas, as JSON", (algorithm, n) => {
    const stack = locations(renderNginxConf(input(algorithm, n))).find(
      ([path]) => path === "= /stack.json",
    );
    expect(stack).toBeDefined();
    const [, levels] = stack!;
    expect(only(levels[2], "default_type")).toEqual(["application/json"]);
    const [status, body] = only(levels[2], "return");
    expect(status).toBe("200");
    expect(JSON.parse(body)).toEqual({ replicas: n, lbAlgorithm: algorithm });
  });

  it("sends nosniff and no-referrer once on every answer, its own included", () => {
    const conf = renderNginxConf(input("round_robin", 3));
    const all = locations(conf);
    expect(all.map(([path]) => path)).toEqual([
      "= /nginx-health",
      "= /stack.json",
      "/socket.io/",
      "/",
    ]);
    for (const [path, levels] of all) {
      expect(inEffect(levels, "add_header"), path).toEqual(
        expect.arrayContaining([
          ["X-Content-Type-Options", "nosniff", "always"],
          ["Referrer-Policy", "no-referrer", "always"],
        ]),
      );
      // The app sets the same two headers: nginx hides its copies so each is sent once.
      expect(inEffect(levels, "proxy_hide_header"), path).toEqual(
        expect.arrayContaining([["X-Content-Type-Options"], ["Referrer-Policy"]]),
      );
    }
  });

  it("retries the next replica on failures within bounds and fails over fast", () => {
    const { server } = parsed(renderNginxConf(input("round_robin", 3)));
    expect(only(server, "proxy_next_upstream")).toEqual([
      "error",
      "timeout",
      "http_502",
      "http_503",
      "http_504",
    ]);
    expect(only(server, "proxy_next_upstream_tries")).toEqual(["3"]);
    expect(only(server, "proxy_next_upstream_timeout")).toEqual(["10s"]);
    expect(only(server, "proxy_connect_timeout")).toEqual(["2s"]);
  });

  it("answers /nginx-health itself, without proxying or logging", () => {
    const health = blockOf(
      parsed(renderNginxConf(input("round_robin", 1))).server,
      "location",
      "=",
      "/nginx-health",
    );
    expect(only(health, "return")).toEqual(["200", "ok\n"]);
    expect(only(health, "access_log")).toEqual(["off"]);
    expect(named(health, "proxy_pass")).toEqual([]);
  });

  it("uses the given listen port", () => {
    const { server } = parsed(renderNginxConf({ ...input("round_robin", 1), listenPort: 9090 }));
    expect(only(server, "listen")).toEqual(["9090"]);
  });
});

describe("the test's nginx directive parser", () => {
  it("reads directives and blocks, drops comments, keeps quoted words whole", () => {
    const conf = `a 1; # a comment { ;
# b 2;
c "x y;" 'z' {
    d "q\\"s" "line\\n";
    #e;
}
`;
    expect(parseNginx(conf)).toEqual([
      { name: "a", args: ["1"] },
      { name: "c", args: ["x y;", "z"], block: [{ name: "d", args: ['q"s', "line\n"] }] },
    ]);
  });

  it.each(["a 1", "a {", "a; }", 'a "b;'])("rejects %j", (conf) => {
    expect(() => parseNginx(conf)).toThrow(/nginx config/);
  });

  it("gives a location the parent's array directives only when it has none of its own", () => {
    const server = parseNginx("add_header A 1; location /x { add_header B 2; } location /y { }");
    const [x, y] = named(server, "location").map((l) => [server, l.block!]);
    expect(inEffect(x, "add_header")).toEqual([["B", "2"]]);
    expect(inEffect(y, "add_header")).toEqual([["A", "1"]]);
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
      "nginx upstreams.length is 0; allowed: a whole number from 1 to 32",
    ],
    [
      "33 upstreams",
      input("round_robin", 33),
      "nginx upstreams.length is 33; allowed: a whole number from 1 to 32",
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
