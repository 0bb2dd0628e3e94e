/**
 * Pure renderers of the nginx image's two uploaded files (docs/architecture.md, "nginx image"):
 * `/etc/ha-stack/nginx.conf` and `/etc/ha-stack/upstreams`. The image's entrypoint turns the
 * upstreams list into `/run/nginx/upstream-servers.conf` (resolved IPs) and keeps it current.
 */
import { checkInteger, invalid } from "../errors";

/** How nginx spreads requests over the app replicas. */
export const LB_ALGORITHMS = ["round_robin", "least_conn", "ip_hash", "consistent_hash"] as const;
export type LbAlgorithm = (typeof LB_ALGORITHMS)[number];

/** One app replica as nginx reaches it, e.g. `{ host: "app-0", port: 3000 }`. */
export interface NginxUpstream {
  readonly host: string;
  readonly port: number;
}

export interface NginxConfInput {
  /** Balancing method of the `upstream app` block. */
  readonly algorithm: LbAlgorithm;
  /** The app replicas, 1 to 32, each host:port once. */
  readonly upstreams: readonly NginxUpstream[];
  /** Port nginx listens on inside its container (8080; nginx runs as www-data). */
  readonly listenPort: number;
  /**
   * Replicas behind the upstreams, for `/stack.json`, when a name stands for several (on a
   * swarm `tasks.<service>` resolves to every healthy task); `null` leaves the count out of
   * nginx.conf (on a swarm a new nginx.conf restarts every edge's nginx, so scaling must not
   * change it). @default upstreams.length
   */
  readonly replicas?: number | null;
}

/** Most upstreams a config may name (the stack's replica bound). */
export const MAX_UPSTREAMS = 32;

/**
 * Passive health check on every server: one failed attempt (connect error, timeout, 502–504)
 * takes it out of rotation for 2 s; the request itself is retried on the next server. 503 must
 * stay retried (a replica that is shutting down answers 503 on its open connections), and a
 * database outage makes every replica answer 503 at once: a short fail_timeout keeps nginx from
 * answering "no live upstreams" for long after the database is back.
 */
export const SERVER_PARAMS = "max_fails=1 fail_timeout=2s";

/**
 * Idle upstream connections each nginx worker keeps (`keepalive` in `upstream app`): two per
 * replica at the bound, so round robin over 32 replicas still finds an open connection to each
 * (with fewer, the cache is least-recently-used across replicas and most requests reconnect).
 */
export const KEEPALIVE_CONNECTIONS = 2 * 32;

/** Requests one kept-alive connection serves before nginx closes it (client and upstream side). */
export const KEEPALIVE_REQUESTS = 10000;

/** The `upstream app` directive of each algorithm; round robin is nginx's default. */
const ALGORITHM_DIRECTIVE: Record<LbAlgorithm, string | undefined> = {
  round_robin: undefined,
  least_conn: "least_conn;",
  ip_hash: "ip_hash;",
  // The full client address (ip_hash keys on the first three IPv4 octets); `consistent`
  // (ketama) moves few clients when the replica count changes.
  consistent_hash: "hash $remote_addr consistent;",
};

// A DNS name or IPv4 address as Docker's embedded DNS answers it: no blanks, ';', '#' or '$',
// which would break the upstreams file or the generated `server` lines.
const HOST = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9])?$/;

function validate(input: NginxConfInput): void {
  if (!(LB_ALGORITHMS as readonly string[]).includes(input.algorithm)) {
    throw new Error(invalid("nginx algorithm", input.algorithm, LB_ALGORITHMS.join(", ")));
  }
  checkInteger("nginx listenPort", input.listenPort, 1, 65535);
  checkInteger("nginx upstreams.length", input.upstreams.length, 1, MAX_UPSTREAMS);
  if (input.replicas !== undefined && input.replicas !== null) {
    checkInteger("nginx replicas", input.replicas, 1, MAX_UPSTREAMS);
  }
  const seen = new Set<string>();
  input.upstreams.forEach(({ host, port }, i) => {
    if (typeof host !== "string" || !HOST.test(host)) {
      throw new Error(
        invalid(
          `nginx upstreams[${i}].host`,
          host,
          "a host name or IPv4 address of letters, digits, '.', '_', '-' (at most 253 characters)",
        ),
      );
    }
    checkInteger(`nginx upstreams[${i}].port`, port, 1, 65535);
    const key = `${host}:${port}`;
    if (seen.has(key)) {
      throw new Error(invalid(`nginx upstreams[${i}]`, key, "each host:port once"));
    }
    seen.add(key);
  });
}

/**
 * `/etc/ha-stack/nginx.conf`. nginx runs as www-data (no `user` directive): pid file, temp
 * files and the generated servers include live under `/run/nginx`; logs go to the container's
 * stdout/stderr. Written literally, never through envsubst (it would clobber `$host`).
 */
/** `/stack.json`'s body: the replicas nginx balances over and how. */
function stackJson(input: NginxConfInput): string {
  if (input.replicas === null) return JSON.stringify({ lbAlgorithm: input.algorithm });
  return JSON.stringify({
    replicas: input.replicas ?? input.upstreams.length,
    lbAlgorithm: input.algorithm,
  });
}

export function renderNginxConf(input: NginxConfInput): string {
  validate(input);
  const directive = ALGORITHM_DIRECTIVE[input.algorithm];
  return `# Rendered by ha-stack (components/render/nginx.ts); uploaded as /etc/ha-stack/nginx.conf.
# nginx runs as www-data: no "user" directive, everything it writes is under /run/nginx.
daemon off;
# Two workers suffice in front of one host's replicas and fit the container's memory limit.
worker_processes 2;
pid /run/nginx/nginx.pid;
error_log stderr warn;
# After a reload or SIGQUIT, old workers drop connections still open (websockets) after 8 s:
# \`docker stop\` waits 10 s before SIGKILL, and reloads do not pile up old workers.
worker_shutdown_timeout 8s;

events {
    # Each proxied request holds two (client and replica), a websocket for as long as it is open.
    worker_connections 4096;
}

http {
    server_tokens off;
    default_type application/octet-stream;
    client_max_body_size 1m;
    keepalive_timeout 65s;
    # A client on one kept-alive connection is not made to reconnect every 1000 requests.
    keepalive_requests ${KEEPALIVE_REQUESTS};
    tcp_nodelay on;

    log_format upstreamlog '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
                           'upstream=$upstream_addr upstream_status=$upstream_status '
                           'request_time=$request_time';
    # Buffered: one write per 64 KiB or per second instead of one per request (dockerd's log
    # driver handles each write); still every request logged.
    access_log /dev/stdout upstreamlog buffer=64k flush=1s;

    client_body_temp_path /run/nginx/client_body;
    proxy_temp_path /run/nginx/proxy;
    fastcgi_temp_path /run/nginx/fastcgi;
    uwsgi_temp_path /run/nginx/uwsgi;
    scgi_temp_path /run/nginx/scgi;

    # Websocket upgrade (socket.io): pass Upgrade through and send Connection: upgrade when
    # asked; otherwise an empty Connection header, so the upstream connection stays open for
    # the next request (keepalive below).
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      '';
    }

    upstream app {
${directive === undefined ? "        # round robin: nginx's default method\n" : `        ${directive}\n`}        # Balancing state and failure counts shared by all workers.
        zone app 64k;
        # Written by the image's entrypoint from /etc/ha-stack/upstreams: one resolved
        # "server <ip>:<port> ${SERVER_PARAMS};" line per replica that resolves.
        include /run/nginx/upstream-servers.conf;
        # Idle connections to the replicas kept open per worker (after the balancing method, as
        # nginx requires): no TCP handshake per request. Closed by nginx after 4 s idle, before
        # Node's 5 s keepAliveTimeout closes them from the other side (a request racing that
        # close would fail).
        keepalive ${KEEPALIVE_CONNECTIONS};
        keepalive_timeout 4s;
        keepalive_requests ${KEEPALIVE_REQUESTS};
    }

    server {
        listen ${input.listenPort};
        server_name _;

        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;

        # Security headers on every answer, nginx's own included (/nginx-health, a 502 when no
        # replica is up). The app sets the same two; nginx hides the app's copies so each
        # header is sent once. No location sets add_header or proxy_hide_header, so every
        # location inherits these.
        proxy_hide_header X-Content-Type-Options;
        proxy_hide_header Referrer-Policy;
        add_header X-Content-Type-Options nosniff always;
        add_header Referrer-Policy no-referrer always;

        # A stopped or replaced replica fails fast and the request moves to the next one,
        # at most 3 attempts within 10 s.
        # A response up to 256 KiB (the status page with its tables) stays in memory rather
        # than in a temporary file under /run/nginx/proxy; headers up to 16 KiB.
        proxy_buffer_size 16k;
        proxy_buffers 16 16k;
        proxy_busy_buffers_size 32k;

        proxy_connect_timeout 2s;
        proxy_send_timeout 60s;
        proxy_read_timeout 60s;
        proxy_next_upstream error timeout http_502 http_503 http_504;
        proxy_next_upstream_tries 3;
        proxy_next_upstream_timeout 10s;

        location = /nginx-health {
            access_log off;
            default_type text/plain;
            return 200 "ok\\n";
        }

        # The stack's config for the status board's page (replicas, algorithm): rendered here,
        # so scaling or a new algorithm reaches it with the config push, never through the app
        # replicas' environment (a change there would replace every replica).
        location = /stack.json {
            access_log off;
            default_type application/json;
            return 200 '${stackJson(input)}';
        }

        # socket.io: long-lived websockets and long-polling requests.
        location /socket.io/ {
            proxy_pass http://app;
            proxy_buffering off;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
        }

        location / {
            proxy_pass http://app;
        }
    }
}
`;
}

/**
 * `/etc/ha-stack/upstreams`: one `host port params` line per replica (or per name that stands
 * for several), which the image's entrypoint resolves into one `server <ip>:<port> <params>;`
 * line per address.
 */
export function renderUpstreams(input: NginxConfInput): string {
  validate(input);
  return input.upstreams.map(({ host, port }) => `${host} ${port} ${SERVER_PARAMS}\n`).join("");
}
