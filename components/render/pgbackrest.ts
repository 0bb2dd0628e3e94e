// pgbackrest.conf for the two PostgreSQL nodes (which push WAL to the repository) and for the
// backup container (which takes base backups, preferring the standby). Pure: no I/O, no secrets.
// See README, "Backups and restore".
import { checkInteger, invalid } from "../errors";

/** The one stanza of every stack: a repository holds one cluster's backups and archive. */
export const STANZA = "ha-stack";

/** Where the repository volume is mounted in every container that uses it. */
export const REPO_PATH = "/var/lib/pgbackrest";

/** Where pgbackrest reads its config (Debian's default). */
export const PGBACKREST_CONF = "/etc/pgbackrest/pgbackrest.conf";

const NODE_NAMES = ["pg-0", "pg-1"] as const;
export type PgNodeName = (typeof NODE_NAMES)[number];

/**
 * Where a node's data volume is mounted: a path of its own per node, the same in the node and in
 * the backup container, because pgbackrest refuses a `pgN-path` other than the server's own
 * `data_directory`.
 */
export function volumePath(node: PgNodeName): string {
  return `/var/lib/postgresql/${node}`;
}

/** `PGDATA` of a node: inside its volume, so an empty volume is an empty cluster. */
export function dataPath(node: PgNodeName): string {
  return `${volumePath(node)}/pgdata`;
}

/** The node's second socket directory, in its volume, which the backup container reaches. */
export function socketPath(node: PgNodeName): string {
  return `${volumePath(node)}/run`;
}

/** `archive_command` of every node: pushes a finished WAL segment into the repository. */
export const ARCHIVE_COMMAND = `pgbackrest --stanza=${STANZA} archive-push %p`;

export type PgbackrestConfInput =
  /** A database node: its own data directory; it archives WAL and restores. */
  | { readonly role: "node"; readonly node: PgNodeName }
  /** The backup container: both nodes through their sockets, backups from the standby. */
  | { readonly role: "backup"; readonly retentionFull: number };

/** Most full backups a repository may keep (the config key's bound). */
export const MAX_RETENTION_FULL = 365;

/** The full pgbackrest.conf for a node or for the backup container. */
export function renderPgbackrestConf(input: PgbackrestConfInput): string {
  validate(input);
  const global = [
    `repo1-path=${REPO_PATH}`,
    // zstd: about lz4's speed at gzip's ratio; level 3 is pgbackrest's default for it.
    "compress-type=zst",
    "compress-level=3",
    "log-level-console=info",
    "log-level-stderr=off",
    // Logs go to the container's output, never into a file nobody reads.
    "log-level-file=off",
    "lock-path=/tmp/pgbackrest",
    "spool-path=/var/spool/pgbackrest",
    // A WAL segment the backup waits for must reach the repository within this many seconds.
    "archive-timeout=60",
  ];
  if (input.role === "node") {
    const stanza = [`pg1-path=${dataPath(input.node)}`, "pg1-user=postgres"];
    return conf(`a database node (${input.node})`, global, stanza);
  }
  const backup = [
    `repo1-retention-full=${input.retentionFull}`,
    // A checkpoint now rather than at the next scheduled one: the backup starts at once.
    "start-fast=y",
    "process-max=1",
  ];
  const stanza = [
    ...NODE_NAMES.flatMap((node, i) => [
      `pg${i + 1}-path=${dataPath(node)}`,
      `pg${i + 1}-socket-path=${socketPath(node)}`,
      `pg${i + 1}-user=postgres`,
    ]),
    // Files come from the standby when one runs and streams; from the primary otherwise.
    "backup-standby=prefer",
  ];
  return conf("the backup container", [...global, ...backup], stanza);
}

function conf(what: string, global: string[], stanza: string[]): string {
  return `# pgbackrest.conf of ${what}, rendered by components/render/pgbackrest.ts.
[global]
${global.join("\n")}

[${STANZA}]
${stanza.join("\n")}
`;
}

function validate(input: PgbackrestConfInput): void {
  if (input.role === "node") {
    if (!(NODE_NAMES as readonly string[]).includes(input.node)) {
      throw new Error(invalid("pgbackrest node", input.node, NODE_NAMES.join(", ")));
    }
    return;
  }
  if (input.role !== "backup") {
    throw new Error(invalid("pgbackrest role", (input as { role: unknown }).role, "node, backup"));
  }
  checkInteger("pgbackrest retentionFull", input.retentionFull, 1, MAX_RETENTION_FULL);
}
