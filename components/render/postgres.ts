// postgresql.conf and pg_hba.conf for the two PostgreSQL nodes (PostgreSQL 17). Pure: no I/O and
// no secrets; passwords reach the server through files (.pgpass, written by pg-entrypoint).
// See docs/architecture.md, "postgres image".
import { checkInteger, invalid } from "../errors";
import { ARCHIVE_COMMAND, socketPath } from "./pgbackrest";

export interface PostgresConfInput {
  /** This node; its application_name and replication slot are the same with `_`. */
  nodeName: "pg-0" | "pg-1";
  /** The other node's alias on the backend network, e.g. `pg-1`. */
  peerHost: string;
  /** Commits wait until the standby has applied them while one is attached. */
  synchronousReplication: boolean;
  /** max_connections (components/connections.ts derives it). */
  maxConnections: number;
  /** The container's memory limit, which shared_buffers and friends are sized from. */
  memoryMb: number;
  /**
   * Archive WAL into the pgBackRest repository (`archive_mode = on`: the primary archives, a
   * standby does not until it is promoted) and listen on a second socket in the data volume,
   * which the backup container reaches. Off on a swarm (no shared repository).
   */
  archive: boolean;
}

/** `superuser_reserved_connections`: sessions only a superuser may open when the rest are taken. */
export const SUPERUSER_RESERVED_CONNECTIONS = 3;

/** Where the entrypoint writes the replication/superuser passwords (from /run/secrets). */
export const PGPASS_FILE = "/var/lib/postgresql/.pgpass";

const NODE_NAMES = ["pg-0", "pg-1"] as const;
const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** `pg-0` → `pg_0`: the application_name and replication slot name of a node. */
export function slotName(nodeName: string): string {
  return nodeName.replace(/-/g, "_");
}

/** The full postgresql.conf of one node; started as `postgres -c config_file=<this file>`. */
export function renderPostgresqlConf(input: PostgresConfInput): string {
  validatePostgresInput(input);
  const { nodeName, peerHost, synchronousReplication, maxConnections, memoryMb, archive } = input;
  const slot = slotName(nodeName);
  const standbys = NODE_NAMES.map(slotName).join(", ");

  // A quarter of the container for shared buffers, half as the planner's cache estimate, and
  // work_mem so that every connection sorting at once still fits in the remaining quarter.
  const sharedBuffersMb = Math.floor(memoryMb / 4);
  const effectiveCacheMb = Math.floor(memoryMb / 2);
  const maintenanceWorkMemMb = Math.max(16, Math.floor(memoryMb / 16));
  const workMemKb = Math.min(
    65536,
    Math.max(1024, Math.floor((memoryMb * 1024) / 4 / maxConnections)),
  );

  const conninfo = [
    `host=${peerHost}`,
    "port=5432",
    "user=replicator",
    `passfile=${PGPASS_FILE}`,
    `application_name=${slot}`,
    "connect_timeout=3",
  ].join(" ");

  return `# postgresql.conf of ${nodeName}, rendered by components/render/postgres.ts (PostgreSQL 17).
# data_directory comes from -D (PGDATA); both nodes share this shape, only the peer differs.

cluster_name = '${nodeName}'

# Connections
listen_addresses = '*'
port = 5432
unix_socket_directories = '/var/run/postgresql${archive ? `, ${socketPath(nodeName)}` : ""}'
hba_file = '/etc/ha-stack/pg_hba.conf'
max_connections = ${maxConnections}
superuser_reserved_connections = ${SUPERUSER_RESERVED_CONNECTIONS}
password_encryption = scram-sha-256
tcp_keepalives_idle = 30
tcp_keepalives_interval = 10
tcp_keepalives_count = 3

# Memory (container limit ${memoryMb} MB)
shared_buffers = ${sharedBuffersMb}MB
effective_cache_size = ${effectiveCacheMb}MB
work_mem = ${workMemKb}kB
maintenance_work_mem = ${maintenanceWorkMemMb}MB
huge_pages = off
jit = off

# WAL and replication: either node can be primary or standby
wal_level = replica
wal_log_hints = on
max_wal_size = 1GB
min_wal_size = 80MB
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = 128MB
# A standby gone for good must not fill the disk: its slot is invalidated past this much WAL.
max_slot_wal_keep_size = 2GB
wal_sender_timeout = 15s

# WAL archive (pgBackRest): ${archive ? "on; only the primary archives, a promoted standby takes over on its new timeline" : "off"}
archive_mode = ${archive ? "on" : "off"}
archive_command = '${archive ? ARCHIVE_COMMAND : ""}'
# A quiet primary still closes a segment a minute, so the archive is never more than that behind.
archive_timeout = ${archive ? "60s" : "0"}

# Standby side (ignored while this node is primary)
hot_standby = on
hot_standby_feedback = on
primary_conninfo = '${conninfo}'
primary_slot_name = '${slot}'
recovery_target_timeline = 'latest'
wal_receiver_timeout = 15s
# How long the startup process sleeps before asking again for WAL it could not get. A promotion
# requested while the WAL receiver retries a dead primary is acted on only after that sleep
# (PostgreSQL 17 notices the request, then sleeps out the interval before it leaves the retry
# loop): at 1s that was a second of every such failover's write outage (#20, bench:failover
# --trace). 100ms costs a WAL receiver start a tenth of a second while the primary is down.
wal_retrieve_retry_interval = 100ms

# Synchronous replication: ${synchronousReplication ? "on" : "off"}
synchronous_commit = ${synchronousReplication ? "remote_apply" : "on"}
synchronous_standby_names = '${synchronousReplication ? `ANY 1 (${standbys})` : ""}'

# Logging: stderr only, collected by Docker
log_destination = 'stderr'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_checkpoints = on
log_replication_commands = on
log_timezone = 'UTC'
timezone = 'UTC'
`;
}

/**
 * pg_hba.conf: the postgres OS user over the local socket (entrypoint, healthcheck), password
 * logins from the backend network (the container's only network, so `samenet` = backend), and
 * nothing else.
 */
export function renderPgHba(): string {
  return `# pg_hba.conf, rendered by components/render/postgres.ts.
# TYPE  DATABASE     USER      ADDRESS   METHOD
local   all          postgres            peer
host    all          all       samenet   scram-sha-256
host    replication  all       samenet   scram-sha-256
local   all          all                 reject
host    all          all       all       reject
host    replication  all       all       reject
`;
}

function validatePostgresInput(input: PostgresConfInput): void {
  if (!(NODE_NAMES as readonly string[]).includes(input.nodeName)) {
    throw new Error(invalid("postgres nodeName", input.nodeName, NODE_NAMES.join(", ")));
  }
  if (typeof input.peerHost !== "string" || !HOSTNAME.test(input.peerHost)) {
    throw new Error(
      invalid(
        "postgres peerHost",
        input.peerHost,
        "a lower-case host name (letters, digits, '-', '.')",
      ),
    );
  }
  if (input.peerHost === input.nodeName) {
    throw new Error(
      invalid(
        "postgres peerHost",
        input.peerHost,
        `the other node than nodeName ${input.nodeName}`,
      ),
    );
  }
  if (typeof input.synchronousReplication !== "boolean") {
    throw new Error(
      invalid("postgres synchronousReplication", input.synchronousReplication, "true or false"),
    );
  }
  if (typeof input.archive !== "boolean") {
    throw new Error(invalid("postgres archive", input.archive, "true or false"));
  }
  checkInteger("postgres maxConnections", input.maxConnections, 10, 10000);
  checkInteger("postgres memoryMb", input.memoryMb, 128, 1048576);
}
