// pgpool.conf and pool_hba.conf for pgpool-II 4.6 in streaming-replication mode. Pure: no I/O
// and no secrets; every *_password is empty, so pgpool reads it from pool_passwd (written by
// pgpool-entrypoint from /run/secrets). See docs/architecture.md, "pgpool image".
import { checkInteger, invalid } from "../errors";

export interface PgpoolBackend {
  /** Alias of the PostgreSQL container on the backend network, e.g. `pg-0`. */
  host: string;
  port: number;
  /** The node's application_name in pg_stat_replication, e.g. `pg_0`. */
  name: string;
}

export interface PgpoolConfInput {
  /** The PostgreSQL nodes; the index is pgpool's node id. */
  backends: readonly PgpoolBackend[];
  /** Port pgpool listens on (9999). */
  port: number;
  /** Pre-forked pgpool children = concurrent client connections. */
  numInitChildren: number;
  /** Seconds between health checks of each backend. */
  healthCheckPeriodSeconds: number;
  /** Failed health checks (one second apart) before a backend is detached. */
  healthCheckMaxRetries: number;
}

/** Where pgpool-entrypoint puts the files pgpool reads. */
export const PGPOOL_CONFIG_DIR = "/etc/pgpool2";

const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const APPLICATION_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const MAX_BACKENDS = 16;

/** The full pgpool.conf; pgpool runs as `pgpool -n -D -f /etc/pgpool2/pgpool.conf`. */
export function renderPgpoolConf(input: PgpoolConfInput): string {
  validatePgpoolInput(input);
  const { port, numInitChildren, healthCheckPeriodSeconds, healthCheckMaxRetries } = input;

  const backends = input.backends
    .map(
      (b, i) => `backend_hostname${i} = '${b.host}'
backend_port${i} = ${b.port}
backend_weight${i} = 1
backend_flag${i} = 'ALLOW_TO_FAILOVER'
backend_application_name${i} = '${b.name}'
`,
    )
    .join("\n");

  return `# pgpool.conf, rendered by components/render/pgpool.ts (pgpool-II 4.6).

backend_clustering_mode = 'streaming_replication'

# Connections
listen_addresses = '*'
port = ${port}
unix_socket_directories = '/var/run/pgpool'
pcp_listen_addresses = '127.0.0.1'
pcp_port = 9898
pcp_socket_dir = '/var/run/pgpool'

# Backends (node id = index)
${backends}
# Authentication: clients authenticate against pool_passwd (TEXT passwords, scram to backends)
enable_pool_hba = on
pool_passwd = '${PGPOOL_CONFIG_DIR}/pool_passwd'
authentication_timeout = 30
allow_clear_text_frontend_auth = off

# Pool: one cached backend connection per child, so PostgreSQL's max_connections can be sized
# as num_init_children plus headroom.
process_management_mode = static
num_init_children = ${numInitChildren}
max_pool = 1
# One child at a time waits in accept(): a new connection wakes one child, not hundreds (the
# thundering herd of ${numInitChildren} children). pgpool ignores it unless child_life_time is 0.
serialize_accept = on
child_life_time = 0
child_max_connections = 0
connection_life_time = 0
client_idle_limit = 0
connection_cache = on
reset_query_list = 'ABORT; DISCARD ALL'

# Logging: stderr only, collected by Docker; runtime files where user postgres may write
log_destination = 'stderr'
logging_collector = off
log_line_prefix = '%m: %a pid %p: '
# LOG: the failover's steps (degeneration requested, failover_command run, new primary set,
# failover done) reach docker logs with their times; nothing is logged per query or session.
log_min_messages = log
log_connections = off
pid_file_name = '/var/run/pgpool/pgpool.pid'
logdir = '/var/log/pgpool'

# Load balancing: reads of database app go to the standby, statement by statement; writes
# and everything after a write in a transaction go to the primary.
load_balance_mode = on
statement_level_load_balance = on
database_redirect_preference_list = 'app:standby'
disable_load_balance_on_write = 'transaction'

# Streaming replication check (also what auto_failback and detach_false_primary look at)
sr_check_period = 2
sr_check_user = 'pgpool'
sr_check_password = ''
sr_check_database = 'postgres'
# A standby more than a second behind gets no reads until it catches up.
delay_threshold_by_time = 1000

# Health check: a backend that stops answering is detached at worst
# period + (max_retries + 1) x timeout + max_retries x retry_delay seconds after its last good
# check (each attempt gives up after health_check_timeout); a refused connection fails at once.
health_check_period = ${healthCheckPeriodSeconds}
health_check_timeout = 2
health_check_user = 'pgpool'
health_check_password = ''
health_check_database = 'postgres'
health_check_max_retries = ${healthCheckMaxRetries}
health_check_retry_delay = 1
# A TCP connect inside one Docker host completes in well under a millisecond; to a container
# that just died (its address gone) it hangs until this. A session's first connect is what
# detects a dead primary first (failover_on_backend_error), long before the health check's
# retries, so this bounds the detection (#20: 1000 ms made the median outage 2.1 s).
connect_timeout = 250

# Failover: promote the standby when the primary is detached
failover_command = '/usr/local/bin/pgpool-failover %d %h %p %m %H %P %r'
failback_command = ''
follow_primary_command = ''
failover_on_backend_error = on
failover_on_backend_shutdown = off
detach_false_primary = on
search_primary_node_timeout = 60
# Re-attach a detached node once it streams from the primary again (never moves the primary).
auto_failback = on
auto_failback_interval = 5

# One pgpool: no watchdog, no query cache
use_watchdog = off
wd_ipc_socket_dir = '/var/run/pgpool'
memory_cache_enabled = off
`;
}

/** pool_hba.conf: password (scram) logins from the networks pgpool sits on and from itself. */
export function renderPoolHba(): string {
  return `# pool_hba.conf, rendered by components/render/pgpool.ts.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  scram-sha-256
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   samenet        scram-sha-256
host    all       all   all            reject
`;
}

function validatePgpoolInput(input: PgpoolConfInput): void {
  const backends = input.backends;
  if (!Array.isArray(backends)) {
    throw new Error(invalid("pgpool backends", backends, `a list of 1 to ${MAX_BACKENDS} nodes`));
  }
  checkInteger("pgpool backends.length", backends.length, 1, MAX_BACKENDS);
  backends.forEach((b, i) => {
    if (typeof b.host !== "string" || !HOSTNAME.test(b.host)) {
      throw new Error(invalid(`pgpool backends[${i}].host`, b.host, "a lower-case host name"));
    }
    checkInteger(`pgpool backends[${i}].port`, b.port, 1, 65535);
    if (typeof b.name !== "string" || !APPLICATION_NAME.test(b.name)) {
      throw new Error(
        invalid(
          `pgpool backends[${i}].name`,
          b.name,
          "an application name of [a-z0-9_] starting with a letter or '_'",
        ),
      );
    }
  });
  for (const key of ["host", "name"] as const) {
    const values = backends.map((b) => b[key]);
    const twice = values.findIndex((v, i) => values.indexOf(v) !== i);
    if (twice !== -1) {
      throw new Error(
        invalid(`pgpool backends[${twice}].${key}`, values[twice], `a ${key} no other backend has`),
      );
    }
  }
  checkInteger("pgpool port", input.port, 1, 65535);
  checkInteger("pgpool numInitChildren", input.numInitChildren, 1, 4096);
  checkInteger("pgpool healthCheckPeriodSeconds", input.healthCheckPeriodSeconds, 1, 300);
  checkInteger("pgpool healthCheckMaxRetries", input.healthCheckMaxRetries, 0, 60);
}

/**
 * pgpool's memory limit for `children` children: 256 MiB (its shared memory, ~130 MiB of
 * relation cache, and the main process) + 4 MiB per child. Measured under a 32-replica roll
 * (221 children, most of them serving): 837 MiB in use; at 2 MiB per child (698 MiB) the kernel
 * OOM-killed pgpool 28 times in one roll, and every kill refused connections for seconds.
 */
export function pgpoolMemoryMb(children: number): number {
  return 256 + 4 * children;
}
